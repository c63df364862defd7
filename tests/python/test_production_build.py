"""Production builds (CLI and Dagster) leave dbt's unit tests to CI; data tests always run."""

from __future__ import annotations

import pytest

from orchestration.defs.dbt.command import dbt_build_args
from tinytracker.cli.main import main
from tinytracker.core import dbt as dbt_runner
from tinytracker.core import paths
from tinytracker.core.dbt_runner import Invocation


@pytest.fixture
def dbt_commands(tmp_path, monkeypatch) -> list[list[str]]:
    """Every dbt command run_dbt would run in process, captured instead of run."""
    monkeypatch.setenv(paths.DB_ENV, str(tmp_path / "warehouse.duckdb"))
    commands: list[list[str]] = []

    def fake_invoke(args, *, db, env, parse_vars, target_path):
        commands.append(["dbt", *args])
        return Invocation(1)  # a failed build: the CLI then does not publish

    monkeypatch.setattr(dbt_runner.dbt_runner, "invoke", fake_invoke)
    return commands


def excludes_unit_tests(command: list[str]) -> bool:
    return any(
        command[i : i + 2] == ["--exclude-resource-type", "unit_test"] for i in range(len(command))
    )


def test_a_production_build_skips_unit_tests_but_not_data_tests(dbt_commands):
    dbt_runner.run_dbt_build("2025-10-01")
    (command,) = dbt_commands
    assert command[1] == "build" and excludes_unit_tests(command)
    assert "--exclude" not in command  # no data test or model is left out


def test_unit_tests_run_when_asked_for(dbt_commands):
    dbt_runner.run_dbt_build("2025-10-01", unit_tests=True)
    assert not excludes_unit_tests(dbt_commands[0])


def test_the_build_command_runs_unit_tests_only_with_its_flag(dbt_commands):
    assert main(["build", "--as-of", "2025-10-01"]) == 1
    assert main(["build", "--as-of", "2025-10-01", "--unit-tests"]) == 1
    assert [excludes_unit_tests(command) for command in dbt_commands] == [True, False]


def test_the_nightly_dagster_build_skips_unit_tests():
    assert excludes_unit_tests(dbt_build_args(None))
    assert excludes_unit_tests(dbt_build_args("2025-10-01"))
