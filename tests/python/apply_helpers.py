"""Helpers shared by the retention-apply tests (test_retention_apply*.py): warehouse snapshots
and the raw rows a run changed, compared table by table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tinytracker.core.contract import LANDING_FILES

from conftest import SYNTHETIC_AS_OF

AS_OF = SYNTHETIC_AS_OF
RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES] + ["raw.quarantine"]


def snapshot(db: Path, into: Path) -> Path:
    shutil.copy(db, into)
    return into


def changed_rows(before: Path, after: Path, table: str) -> tuple[list[tuple], list[tuple]]:
    """Rows only in ``before`` (gone or changed) and rows only in ``after`` (new or changed)."""
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        gone = con.execute(f"select * from b.{table} except all select * from a.{table}").fetchall()
        new = con.execute(f"select * from a.{table} except all select * from b.{table}").fetchall()
    finally:
        con.close()
    return gone, new


def assert_raw_unchanged(before: Path, after: Path) -> None:
    for table in RAW_TABLES:
        gone, new = changed_rows(before, after, table)
        assert (gone, new) == ([], []), f"{table} changed"
