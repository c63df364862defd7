"""Extract folders arriving in the landing folder, loaded once each by the ``load_extract`` job."""
