"""Run config of the scheduled backup (plain data, tested without Dagster)."""

from __future__ import annotations

import datetime as dt

SNAPSHOT_OP = "snapshot_warehouse"


def nightly_backup_run_config(taken_on: dt.date) -> dict:
    return {"ops": {SNAPSHOT_OP: {"config": {"taken_on": taken_on.isoformat()}}}}
