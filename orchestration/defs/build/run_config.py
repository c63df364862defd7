"""Run config of the nightly build for a date (plain data, tested without Dagster)."""

from __future__ import annotations

import datetime as dt

DBT_OP = "tinytracker_dbt_assets"


def nightly_build_run_config(as_of: dt.date) -> dict:
    return {"ops": {DBT_OP: {"config": {"as_of": as_of.isoformat()}}}}
