"""A warehouse file left readable by others (an older version, a copy made by hand) is made
owner-only by the first command that opens it to write, whatever path that command takes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb

from tinytracker.core import warehouse


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_writer_makes_a_world_readable_warehouse_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    os.chmod(db, 0o644)

    warehouse.connect(db, read_only=True).close()
    assert mode(db) == 0o644  # a reader changes nothing

    warehouse.connect(db).close()
    assert mode(db) == 0o600
