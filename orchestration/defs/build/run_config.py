"""Run config of the nightly build for a date (plain data, tested without Dagster)."""

from __future__ import annotations

import datetime as dt

DBT_OP = "tinytracker_dbt_assets"
FULL_TESTS_WEEKDAY = 6  # Sunday: no school marks arrive, the window is free for the full scan


def nightly_build_run_config(as_of: dt.date) -> dict:
    """The build for ``as_of``; on a Sunday every data test scans every row (the weekly full
    scan behind the daily tests that read only the rows a build added)."""
    config = {"as_of": as_of.isoformat(), "full_tests": as_of.weekday() == FULL_TESTS_WEEKDAY}
    return {"ops": {DBT_OP: {"config": config}}}
