"""Work done from the CLI, recorded in the Dagster instance as asset events (the recorder the
``tinytracker`` CLI calls through its ``tinytracker.run_recorders`` entry point)."""
