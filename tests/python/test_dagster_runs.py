"""The Dagster jobs executed in process on a throwaway warehouse.

One tiny synthetic trust is generated, loaded and built once per module by the nightly_build
job itself (dagster-dbt `dbt build` for as_of 2025-10-01, then the analyst publish); every test
that writes works on its own copy of that file, selected through TINYTRACKER_DB.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from tinytracker.core import paths, secret, warehouse
from tinytracker.core.contract import LANDING_FILES
from tinytracker.generator import GeneratorConfig, generate_extract
from tinytracker.loading.run import load_extract

from dagster_helpers import ensure_dbt_manifest

AS_OF = "2025-10-01"
SECRET = "dagster-test-secret-0123456789"
REVOKED_ORG = "ORG005"  # the generator's organisation whose MIS permission is revoked
RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES]


@dataclass(frozen=True)
class Template:
    root: Path
    extract: Path
    db: Path
    build: dg.ExecuteInProcessResult


def set_env(env: pytest.MonkeyPatch, root: Path, db: Path, run_dir: Path) -> None:
    env.setenv(paths.DB_ENV, str(db))
    env.setenv(secret.SECRET_ENV, SECRET)
    env.setenv("DBT_TARGET_PATH", str(root / "target"))
    env.setenv("DBT_LOG_PATH", str(root / "logs"))
    env.setenv("TINYTRACKER_ANALYTICS_DB", str(run_dir / "analytics.duckdb"))
    env.setenv("TINYTRACKER_BACKUP_DIR", str(run_dir / "backups"))
    env.setenv("TINYTRACKER_LANDING_DIR", str(run_dir / "landing"))


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    ensure_dbt_manifest()
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def template(defs: dg.Definitions, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    root = tmp_path_factory.mktemp("dagster_runs")
    extract = root / "extract"
    generate_extract(GeneratorConfig(out=extract, organisations=7, pupils=70, years=1, seed=3))
    db = root / "template.duckdb"
    with pytest.MonkeyPatch.context() as env:
        set_env(env, root, db, root)
        load_extract(extract)
        schedule = defs.resolve_schedule_def("nightly_build_schedule")
        tick = dg.build_schedule_context(
            scheduled_execution_time=dt.datetime(2025, 10, 1, 1, tzinfo=ZoneInfo("Europe/London"))
        )
        (request,) = schedule.evaluate_tick(tick).run_requests
        build = defs.resolve_job_def("nightly_build").execute_in_process(
            run_config=request.run_config, raise_on_error=False
        )
    yield Template(root, extract, db, build)


@pytest.fixture
def wh(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built warehouse, selected through the environment."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(template.db, db)
    set_env(monkeypatch, template.root, db, tmp_path)
    return db


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def raw_differences(before: Path, after: Path) -> dict[str, int]:
    """Rows that differ (either way) per raw table between two warehouse files."""
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        return {
            table: con.execute(
                f"select (select count(*) from (select * from b.{table} except all "
                f"select * from a.{table})) + (select count(*) from (select * from a.{table} "
                f"except all select * from b.{table}))"
            ).fetchone()[0]
            for table in RAW_TABLES
        }
    finally:
        con.close()


def output_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    (event,) = [e for e in result.events_for_node(node) if e.is_successful_output]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def materialization(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    (event,) = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in event.metadata.items()}


def only_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "nothing_overdue_after_apply"
    return evaluation


# --- nightly build ----------------------------------------------------------------------------


def test_nightly_build_builds_for_the_scheduled_date_and_publishes(template: Template):
    build = template.build
    assert build.success
    built = {e.asset_key.to_user_string() for e in build.get_asset_materialization_events()}
    assert {"marts/fct_service_usage", "retention/retention_plan", "analyst_marts"} <= built
    # the schedule's date reached dbt as the as_of var
    assert read(template.db, "select distinct as_of from retention.retention_status") == [
        (dt.date(2025, 10, 1),)
    ]
    # dbt tests ran as asset checks; none of error severity failed
    checks = build.get_asset_check_evaluations()
    assert len(checks) > 100
    assert not [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    published = materialization(build, "analyst_marts")
    assert published["tables"] >= 4
    assert Path(published["analytics_db"]) == template.root / "analytics.duckdb"


# --- landing sensor and load_extract ----------------------------------------------------------


def test_sensor_and_load_extract_load_the_trust_and_report_the_revoked_organisation(
    defs: dg.Definitions, template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "fresh.duckdb"  # an empty warehouse: the first load creates it
    set_env(monkeypatch, template.root, db, tmp_path)
    folder = tmp_path / "landing" / "trust-2025-07-18"
    shutil.copytree(template.extract, folder)
    (folder / "_READY").touch()

    sensor = defs.resolve_sensor_def("landing_sensor")
    first = sensor(dg.build_sensor_context())
    (request,) = first.run_requests
    assert not sensor(dg.build_sensor_context(cursor=first.cursor)).run_requests

    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("load_extract").execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance
    )
    assert result.success  # a refused organisation is reported, not a failure
    metadata = output_metadata(result, "load_extract_folder")
    assert metadata["refused_organisations"] == REVOKED_ORG
    assert metadata["rows_inserted"] > 0 and metadata["rows_refused"] > 0
    organisations = {o for (o,) in read(db, "select distinct organisation_id from raw.pupils")}
    assert organisations and REVOKED_ORG not in organisations
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING
    ]
    assert any("MIS permission revoked" in w and REVOKED_ORG in w for w in warnings)

    # an extract only for the revoked organisation is not even requested
    revoked_only = tmp_path / "landing" / "revoked-only"
    revoked_only.mkdir()
    organisations = (template.extract / "organisations.csv").read_text().splitlines()
    (revoked_only / "organisations.csv").write_text(
        "\n".join(
            [organisations[0]]
            + [line for line in organisations[1:] if line.startswith(REVOKED_ORG + ",")]
        )
        + "\n"
    )
    (revoked_only / "_READY").touch()
    con = warehouse.connect()
    con.execute(
        "update raw.organisations set mis_permission = 'revoked' where organisation_id = ?",
        [REVOKED_ORG],
    )
    con.execute(
        "insert into raw.organisations (organisation_id, mis_permission) "
        "select ?, 'revoked' where not exists (select 1 from raw.organisations "
        "where organisation_id = ?)",
        [REVOKED_ORG, REVOKED_ORG],
    )
    con.close()
    skipped = sensor(dg.build_sensor_context(cursor=first.cursor))
    assert not skipped.run_requests


def test_load_extract_fails_on_an_unusable_extract_and_stores_nothing(
    defs: dg.Definitions, template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "fresh.duckdb"
    set_env(monkeypatch, template.root, db, tmp_path)
    empty = tmp_path / "landing" / "empty"
    empty.mkdir(parents=True)
    result = defs.resolve_job_def("load_extract").execute_in_process(
        run_config={"ops": {"load_extract_folder": {"config": {"folder": "empty"}}}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "no landing files" in failure.step_failure_data.error.message
    assert not db.exists()


# --- retention_apply --------------------------------------------------------------------------


def test_retention_apply_launched_by_hand_is_a_dry_run_that_changes_nothing(
    defs: dg.Definitions, wh: Path, tmp_path: Path
):
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    result = defs.resolve_job_def("retention_apply").execute_in_process(
        run_config={"ops": {"retention_run": {"config": {"as_of": AS_OF}}}}
    )  # no dry_run
    assert result.success
    run = materialization(result, "retention_run")
    assert run["dry_run"] is True and run["outcome"] == "planned" and run["rows"] > 0
    assert set(raw_differences(before, wh).values()) == {0}
    check = only_check(result)
    assert check.passed and "dry run" in check.description
    logged = read(wh, "select is_dry_run, requested_by from audit.retention_runs")
    assert logged == [(True, f"dagster launched run {result.run_id}")]


def test_scheduled_retention_apply_applies_and_the_blocking_check_passes(
    defs: dg.Definitions, wh: Path, tmp_path: Path
):
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    due_before = read(wh, "select count(*) from retention.retention_status where status = 'due'")
    assert due_before[0][0] > 0, "the synthetic trust has work due on 2025-10-01"
    schedule = defs.resolve_schedule_def("retention_apply_schedule")
    tick = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 10, 1, 2, tzinfo=ZoneInfo("Europe/London"))
    )
    (request,) = schedule.evaluate_tick(tick).run_requests

    result = defs.resolve_job_def("retention_apply").execute_in_process(
        run_config=request.run_config
    )
    assert result.success
    run = materialization(result, "retention_run")
    assert run["dry_run"] is False and run["outcome"] == "applied"
    assert run["as_of"] == AS_OF and run["rows"] > 0 and run["physically_erased"] is True
    assert sum(raw_differences(before, wh).values()) > 0
    check = only_check(result)
    assert check.passed
    assert check.metadata["overdue_subjects"].value == 0
    assert read(wh, "select count(*) from retention.retention_status where status = 'due'") == [
        (0,)
    ]
    assert read(wh, "select outcome, is_dry_run from audit.retention_runs") == [("applied", False)]


def test_retention_apply_refuses_an_as_of_after_today(
    defs: dg.Definitions, wh: Path, tmp_path: Path
):
    from tinytracker.erasure.result import action_date

    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    tomorrow = (action_date() + dt.timedelta(days=1)).isoformat()
    result = defs.resolve_job_def("retention_apply").execute_in_process(
        run_config={"ops": {"retention_run": {"config": {"as_of": tomorrow, "dry_run": False}}}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"as_of {tomorrow} is after today" in message and "dry run" in message
    assert set(raw_differences(before, wh).values()) == {0}


def test_an_apply_that_leaves_a_due_subject_fails_the_blocking_check(
    defs: dg.Definitions, wh: Path, monkeypatch: pytest.MonkeyPatch
):
    """A (simulated) bug drops one due subject from the executed steps: the check of this run
    sees it still due on the run's as_of and fails the run."""
    from tinytracker.retention import run

    real_steps_from_plan = run.steps_from_plan

    def steps_missing_one_subject(con, result, schema="retention"):
        real_steps_from_plan(con, result, schema)
        con.execute("""
            create or replace temp table tt_missed as
            select organisation_id, subject_kind, subject_id from run_subjects
            where subject_kind = 'employee' order by all limit 1""")
        for table in ("run_subjects", "run_steps"):
            con.execute(
                f"delete from {table} where (organisation_id, subject_kind, subject_id) "
                "in (select (organisation_id, subject_kind, subject_id) from tt_missed)"
            )

    monkeypatch.setattr(run, "steps_from_plan", steps_missing_one_subject)
    result = defs.resolve_job_def("retention_apply").execute_in_process(
        run_config={"ops": {"retention_run": {"config": {"as_of": AS_OF, "dry_run": False}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert materialization(result, "retention_run")["outcome"] == "applied"
    check = only_check(result)
    assert not check.passed and check.metadata["overdue_subjects"].value == 1
    assert "still due" in check.description
    assert check.metadata["overdue.employees_1m_after_leaving"].value == 1


# --- nightly_backup ---------------------------------------------------------------------------


def test_nightly_backup_writes_a_dated_snapshot_and_prunes_old_ones(
    defs: dg.Definitions, wh: Path, tmp_path: Path
):
    backups = tmp_path / "backups"
    backups.mkdir()
    expired = backups / "tinytracker-2025-06-01.duckdb"  # 122 days before 1 October
    recent = backups / "tinytracker-2025-07-10.duckdb"  # 83 days: still within 90
    for old in (expired, recent):
        old.write_bytes(b"old backup")
    result = defs.resolve_job_def("nightly_backup").execute_in_process(
        run_config={"ops": {"snapshot_warehouse": {"config": {"taken_on": AS_OF}}}}
    )
    assert result.success
    snapshot = backups / f"tinytracker-{AS_OF}.duckdb"
    assert read(snapshot, "select count(*) from raw.pupils")[0][0] > 0
    assert not expired.exists() and recent.exists()
    assert output_metadata(result, "snapshot_warehouse")["path"] == str(snapshot)
    pruned = output_metadata(result, "prune_backups")
    assert pruned["pruned"] == 1 and pruned["pruned_dates"] == "2025-06-01"
    assert pruned["kept"] == 2
