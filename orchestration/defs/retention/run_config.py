"""Run config of the scheduled retention apply (plain data, tested without Dagster)."""

from __future__ import annotations

import datetime as dt

RETENTION_OP = "retention_run"


def retention_run_config(as_of: dt.date, *, dry_run: bool) -> dict:
    return {"ops": {RETENTION_OP: {"config": {"as_of": as_of.isoformat(), "dry_run": dry_run}}}}
