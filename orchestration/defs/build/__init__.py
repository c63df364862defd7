"""The nightly build: every dbt model, seed and test for the day, then the analyst publish."""
