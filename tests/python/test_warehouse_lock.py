"""DuckDB allows one writer: the CLI waits briefly for a held lock, then fails clearly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinytracker.cli import main as cli
from tinytracker.core import paths, schema, warehouse

HOLD = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
    "print('locked', flush=True); time.sleep(float(sys.argv[2]))"
)


def hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = warehouse.connect(path)
    schema.ensure_schema(con)
    con.close()
    monkeypatch.setenv(paths.DB_ENV, str(path))
    return path


def test_a_command_on_a_locked_warehouse_fails_with_a_clear_message(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(warehouse.LOCK_WAIT_ENV, "1")
    holder = hold_lock(db, 10)
    try:
        started = time.monotonic()
        code = cli.main(["hold", "list"])
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert code == 75  # BusyError: a scheduler may retry later
    assert "locked by another process" in err and str(db) in err
    assert "Traceback" not in err
    assert waited >= 1.0


def test_a_command_waits_for_a_short_lock_and_then_runs(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv(warehouse.LOCK_WAIT_ENV, "20")
    holder = hold_lock(db, 1.5)
    try:
        code = cli.main(["hold", "list"])
    finally:
        holder.wait()
    assert code == 0
