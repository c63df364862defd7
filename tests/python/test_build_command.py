"""`tinytracker build`: the date it passes to dbt, and the mistakes it refuses before dbt runs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tinytracker.cli.main import COMMAND_MODULES, main
from tinytracker.core import dbt as dbt_runner
from tinytracker.core import paths, warehouse
from tinytracker.core.dates import parse_date
from tinytracker.core.dbt_runner import Invocation
from tinytracker.core.errors import TinyTrackerError


def test_build_and_hold_commands_are_registered():
    assert "tinytracker.cli.build" in COMMAND_MODULES
    assert "tinytracker.cli.hold" in COMMAND_MODULES


def test_as_of_is_passed_to_dbt_as_the_as_of_var():
    command = dbt_runner.dbt_build_command(dt.date(2025, 10, 1), ["+retention_plan"])
    assert command[:2] == [str(dbt_runner.DBT_EXECUTABLE), "build"]
    assert command[command.index("--project-dir") + 1] == str(paths.PROJECT_DIR)
    assert command[command.index("--profiles-dir") + 1] == str(paths.PROJECT_DIR)
    assert json.loads(command[command.index("--vars") + 1]) == {"as_of": "2025-10-01"}
    assert command[command.index("--select") + 1 :] == [
        "+retention_plan",
        "--indirect-selection",
        "cautious",
    ]


def test_a_selected_build_runs_only_the_tests_whose_relations_it_built():
    """A test reading a relation outside the selection waits for the build that makes it."""
    command = dbt_runner.dbt_build_command(None, ["path:models/staging"])
    assert command[command.index("--indirect-selection") + 1] == "cautious"
    assert "--indirect-selection" not in dbt_runner.dbt_build_command(None)


def test_without_as_of_dbt_uses_its_default_of_today():
    assert "--vars" not in dbt_runner.dbt_build_command(None)


@pytest.mark.parametrize("value", ["2025-02-30", "01/10/2025", "tomorrow", ""])
def test_as_of_that_is_not_a_calendar_date_is_refused(value):
    with pytest.raises(TinyTrackerError, match="YYYY-MM-DD"):
        parse_date(value, "--as-of")


def test_build_command_refuses_a_bad_date_before_touching_the_warehouse(
    tmp_path, monkeypatch, capsys
):
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(paths.DB_ENV, str(db))
    assert main(["build", "--as-of", "2025-02-30"]) == 2
    assert "--as-of must be a calendar date written YYYY-MM-DD" in capsys.readouterr().err
    assert not db.exists()


def test_build_returns_dbt_exit_code_and_creates_sources_on_a_fresh_warehouse(
    tmp_path, monkeypatch
):
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(paths.DB_ENV, str(db))
    calls = []

    def fake_invoke(args, *, db, env, parse_vars, target_path):
        calls.append((args, db.parent / env[paths.DB_ENV]))
        return Invocation(1)

    monkeypatch.setattr(dbt_runner.dbt_runner, "invoke", fake_invoke)
    assert dbt_runner.run_dbt_build("2025-10-01") == 1
    ((command, db_opened),) = calls
    assert db_opened == db.resolve()  # dbt opens this warehouse, by name from its folder
    con = warehouse.connect(db, read_only=True)
    tables = {
        row[0]
        for row in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    }
    con.close()
    assert {"raw.pupils", "audit.legal_holds", "audit.retention_log"} <= tables
