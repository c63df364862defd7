"""dbt runs inside the command's process on a parse it reuses: a new evaluation date is not a
new parse, and the warehouse file is free again the moment dbt returns."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb

from tinytracker.core import dbt_runner, warehouse
from tinytracker.core.dbt import run_dbt, run_dbt_build

from conftest import read

STATUS_MODELS = ["retention_status"]


def test_a_build_for_a_new_date_reuses_the_parse_and_uses_the_date(wh: Path):
    dbt_runner.forget_parsed_projects()
    before = dbt_runner.parses
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0
    assert dbt_runner.parses == before + 1  # this process parsed once ...
    assert run_dbt_build("2025-10-03", STATUS_MODELS) == 0
    assert dbt_runner.parses == before + 1  # ... and not again for another date
    assert read(wh, "select distinct as_of from retention.retention_status") == [
        (dt.date(2025, 10, 3),)
    ]


def test_a_fresh_process_parses_nothing_for_a_date_it_never_saw(wh: Path):
    """A new command for a new date: the parse the last command saved is reused as it is."""
    assert run_dbt_build("2025-10-02", STATUS_MODELS) == 0  # saves the parse
    code = (
        "from tinytracker.core import dbt_runner; from tinytracker.core.dbt import run_dbt_build; "
        "code = run_dbt_build('2025-11-30', ['retention_status']); "
        "print('parses', dbt_runner.parses, 'exit', code)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "parses 0 exit 0"
    assert read(wh, "select distinct as_of from retention.retention_status") == [
        (dt.date(2025, 11, 30),)
    ]


def test_the_warehouse_is_free_again_when_dbt_returns(wh: Path):
    assert run_dbt(None, ["stg_organisations"], command="run") == 0
    # another configuration in this process (DuckDB refuses one while dbt's is open) ...
    con = warehouse.connect(wh, read_only=True)
    con.close()
    # ... and another process writing to the file
    code = f"import duckdb; duckdb.connect({str(wh)!r}).execute('create table t as select 1')"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_daily_grain_test_finds_a_new_mark_duplicating_an_old_one(wh: Path):
    """The scoped grain test looks the newest load's keys up among every mark."""
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            """
            insert into raw.attendance_sessions by name
            select * replace (_loaded_at + interval 1 day as _loaded_at)
            from raw.attendance_sessions
            order by organisation_id, pupil_id, session_date, session limit 1
            """
        )
    finally:
        con.close()
    grain_test = "stg_attendance_sessions,test_name:unique_combination_of_columns"
    assert run_dbt(None, [grain_test], command="test") == 1


def test_the_full_grain_test_finds_a_mark_repeated_anywhere(wh: Path):
    """The weekly and CI scan (var full_tests) groups every mark by a hash of its key, then the
    marks of repeated hashes by the key itself: it passes on distinct marks, fails on one
    repeated (a group-by on the key itself ran out of memory at 1M pupils)."""
    grain_test = "stg_attendance_sessions,test_name:unique_combination_of_columns"
    every_row = {"full_tests": True}
    assert run_dbt(None, [grain_test], command="test", compile_vars=every_row) == 0
    con = duckdb.connect(str(wh))
    try:
        con.execute(
            """
            insert into raw.attendance_sessions by name
            select * replace (_loaded_at - interval 1 day as _loaded_at)
            from raw.attendance_sessions
            order by organisation_id desc, pupil_id desc, session_date, session limit 1
            """
        )
    finally:
        con.close()
    assert run_dbt(None, [grain_test], command="test", compile_vars=every_row) == 1
