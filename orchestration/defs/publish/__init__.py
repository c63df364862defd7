"""The analyst publish: marts copied out of the warehouse after every nightly build."""
