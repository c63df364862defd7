"""The plain logic behind the Dagster code location: the blocking after-apply check (on an
in-memory retention_status table), the run's requested_by, dbt's build arguments and the dates
a run is for.

Fast tests: no dbt build and no warehouse.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tinytracker.core.errors import TinyTrackerError

from dagster_helpers import defs  # noqa: F401 - fixture


def status_table(
    rows: list[tuple[str, str, str | None, str]], as_of: str = "2025-10-01"
) -> duckdb.DuckDBPyConnection:
    """An in-memory retention.retention_status with (subject_id, rule_id, due_on, status),
    built for ``as_of``."""
    con = duckdb.connect()
    con.execute("create schema retention")
    con.execute(
        "create table retention.retention_status (organisation_id varchar, "
        "subject_kind varchar, subject_id varchar, rule_id varchar, due_on date, "
        "status varchar, as_of date)"
    )
    con.executemany(
        "insert into retention.retention_status values ('ORG1', 'pupil', ?, ?, "
        "cast(? as date), ?, cast(? as date))",
        [(*row, as_of) for row in rows],
    )
    return con


def test_after_apply_check_fails_on_a_subject_still_due_before_as_of():
    from orchestration.defs.retention.outcome import check_after_apply

    as_of = dt.date(2025, 10, 1)
    con = status_table(
        [
            ("P1", "left_pupils_2_academic_years", "2025-09-01", "due"),
            ("P2", "left_pupils_2_academic_years", "2025-09-01", "on_hold"),
            ("P3", "pupils_2y_after_contract", None, "retained"),
        ]
    )
    verdict = check_after_apply(con, as_of, dry_run=False)
    assert not verdict.passed
    assert verdict.metadata["overdue.left_pupils_2_academic_years"] == 1
    assert verdict.metadata["on_hold_subjects"] == 1
    assert "left_pupils_2_academic_years (1)" in verdict.description


def test_after_apply_check_fails_on_a_subject_due_on_the_run_date_itself():
    """An apply for D acts on everything with due_on <= D: no grace day (that is the dbt
    test's, for builds)."""
    from orchestration.defs.retention.outcome import check_after_apply

    as_of = dt.date(2025, 10, 1)
    con = status_table([("P1", "employees_1m_after_leaving", "2025-10-01", "due")])
    verdict = check_after_apply(con, as_of, dry_run=False)
    assert not verdict.passed and verdict.metadata["overdue_subjects"] == 1
    assert "on or before 2025-10-01" in verdict.description


def test_after_apply_check_fails_when_the_statuses_are_built_for_another_date():
    from orchestration.defs.retention.outcome import check_after_apply

    con = status_table(
        [("P1", "left_pupils_2_academic_years", "2025-09-01", "actioned")], as_of="2029-06-01"
    )
    verdict = check_after_apply(con, dt.date(2025, 10, 1), dry_run=False)
    assert not verdict.passed and "built for 2029-06-01" in verdict.description


def test_after_apply_check_passes_for_holds_and_for_a_dry_run():
    from orchestration.defs.retention.outcome import check_after_apply

    as_of = dt.date(2025, 10, 1)
    held = status_table(
        [
            ("P2", "left_pupils_2_academic_years", "2025-09-01", "on_hold"),
            ("P4", "left_pupils_2_academic_years", "2025-09-01", "actioned"),
            ("P5", "left_pupils_2_academic_years", "2025-10-02", "retained"),
        ]
    )
    assert check_after_apply(held, as_of, dry_run=False).passed
    overdue = status_table([("P1", "left_pupils_2_academic_years", "2025-09-01", "due")])
    dry = check_after_apply(overdue, as_of, dry_run=True)
    assert dry.passed and "dry run" in dry.description
    assert check_after_apply(None, None, None).passed  # this run made no retention run


@dg.asset(key="retention_run")
def stand_in_retention_run() -> dg.MaterializeResult:
    """Materializes like the real asset (same key and metadata), without a warehouse."""
    return dg.MaterializeResult(metadata={"as_of": "2025-10-01", "dry_run": False})


def test_the_check_judges_the_retention_run_of_its_own_dagster_run(
    defs: dg.Definitions, tmp_path: Path, monkeypatch
):
    """Not the latest materialization on the instance: another run (here a dry run for a
    simulated date, reported later) must not change what this run's check judges."""
    from orchestration.defs.retention.checks import (
        nothing_overdue_after_apply,
        retention_run_of,
    )

    instance = dg.DagsterInstance.ephemeral()
    apply_run = dg.materialize([stand_in_retention_run], instance=instance)
    instance.report_runless_asset_event(
        dg.AssetMaterialization("retention_run", metadata={"as_of": "2029-06-01", "dry_run": True})
    )
    latest = instance.get_latest_materialization_event(dg.AssetKey("retention_run"))
    assert latest.asset_materialization.metadata["dry_run"].value is True
    assert retention_run_of(instance, apply_run.run_id) == (dt.date(2025, 10, 1), False)

    # launched alone, the check has no retention run of its own to judge: it says so
    db = tmp_path / "warehouse.duckdb"
    con = status_table([("P1", "left_pupils_2_academic_years", "2025-09-01", "due")])
    con.execute("attach ? as target", [str(db)])
    con.execute("copy from database memory to target")
    con.close()
    monkeypatch.setenv("TINYTRACKER_DB", str(db))
    only_check = dg.define_asset_job(
        "only_check", selection=dg.AssetSelection.checks(nothing_overdue_after_apply)
    )
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[only_check])).resolve_job_def(
        "only_check"
    )
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and "made no retention run" in evaluation.description


def test_requested_by_names_the_schedule_or_a_launch():
    from orchestration.defs.retention.outcome import requested_by

    assert requested_by("abc", {"dagster/schedule_name": "retention_apply_schedule"}) == (
        "dagster schedule retention_apply_schedule run abc"
    )
    assert requested_by("abc", {}) == "dagster launched run abc"


def test_the_dagster_build_passes_as_of_without_a_reparse_and_rejects_a_bad_date():
    """The date goes in the environment, not in --vars (a change of vars re-parses dbt)."""
    from orchestration.defs.dbt.command import dbt_build_args, dbt_build_env

    assert dbt_build_args(None) == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args("2025-10-01") == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_env("2025-10-01") == {"TINYTRACKER_AS_OF": "2025-10-01"}
    assert dbt_build_env(None) == {"TINYTRACKER_AS_OF": ""}
    # the weekly build scans every row: a var, so dbt re-parses for it once a week only
    assert dbt_build_args("2025-10-05", full_tests=True) == [
        *dbt_build_args("2025-10-05"),
        "--vars",
        "{full_tests: true}",
    ]
    with pytest.raises(TinyTrackerError, match="YYYY-MM-DD"):
        dbt_build_args("01/10/2025")


def test_dates_default_to_london_today_and_reject_bad_input():
    from tinytracker.core.dates import london_today, resolve_date, scheduled_date

    late_utc = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 July in London
    assert london_today(late_utc) == dt.date(2025, 7, 1)
    assert scheduled_date(late_utc) == dt.date(2025, 7, 1)
    assert resolve_date("2025-10-01") == dt.date(2025, 10, 1)
    assert resolve_date(None) == london_today()
    with pytest.raises(TinyTrackerError, match="taken_on"):
        resolve_date("yesterday", field="taken_on")
