"""The Dagster code location: what it defines and how it is wired (jobs, schedules in London
time, the landing sensor, the warehouse pool).

Fast tests: no dbt build and no warehouse (the sensor works on a temporary landing folder).
The runs themselves are in test_dagster_runs.py, the after-apply check and the plain logic in
test_dagster_logic.py.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from tinytracker.core.paths import PROJECT_DIR

from dagster_helpers import BIN, defs  # noqa: F401 - fixture

LONDON = ZoneInfo("Europe/London")


WRITER_STEPS = {  # every step that opens the warehouse file, by job
    "nightly_build": {"tinytracker_dbt_assets", "analyst_marts"},
    "retention_apply": {"retention_run", "retention_run_nothing_overdue_after_apply"},
    "load_extract": {"load_extract_folder"},
    "nightly_backup": {"snapshot_warehouse"},
    "write_dpo_report": {"dpo_report"},
}


# --- what the code location defines ------------------------------------------------------


def test_definitions_load_jobs_schedules_and_the_sensors(defs: dg.Definitions):
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {
        "nightly_build",
        "retention_apply",
        "load_extract",
        "nightly_backup",
        "write_dpo_report",
    } <= jobs
    schedules = {s.name: s for s in defs.schedules}
    expected = {
        "nightly_build_schedule": ("0 1 * * *", "nightly_build"),
        "retention_apply_schedule": ("0 2 * * *", "retention_apply"),
        "nightly_backup_schedule": ("0 3 * * *", "nightly_backup"),
    }
    assert set(schedules) == set(expected)
    for name, (cron, job_name) in expected.items():
        assert schedules[name].cron_schedule == cron
        assert schedules[name].execution_timezone == "Europe/London"
        assert schedules[name].job_name == job_name
    sensors = {sensor.name: sensor for sensor in defs.sensors}
    assert set(sensors) == {
        "landing_sensor",
        "dpo_report_after_retention_apply",
        "dpo_report_after_failed_retention_apply",
    }
    assert sensors["landing_sensor"].job_name == "load_extract"
    for name in ("dpo_report_after_retention_apply", "dpo_report_after_failed_retention_apply"):
        assert sensors[name].job_name == "write_dpo_report"
    # the report is downstream of the retention run, but not in its job: the blocking check
    # must not stop the page on the night something is overdue
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("retention_run") in graph.get(dg.AssetKey("dpo_report")).parent_keys
    assert "dpo_report" not in {n.name for n in defs.resolve_job_def("retention_apply").graph.nodes}


def test_every_step_that_opens_the_warehouse_runs_in_the_warehouse_pool(defs: dg.Definitions):
    for job_name, writers in WRITER_STEPS.items():
        job = defs.resolve_job_def(job_name)
        pools = {node.name: node.definition.pool for node in job.graph.nodes}
        assert writers <= set(pools), f"{job_name} lacks steps {writers - set(pools)}"
        for step in writers:
            assert pools[step] == "warehouse", f"{job_name}.{step} is not in the warehouse pool"
    # prune only touches the backup folder: it must not hold the warehouse slot
    backup = defs.resolve_job_def("nightly_backup")
    assert backup.graph.node_named("prune_backups").definition.pool is None
    # and no asset or check anywhere escapes the pool
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if assets_def.is_executable:
            assert assets_def.op.pool == "warehouse", assets_def.keys


def test_dbt_tests_surface_as_asset_checks(defs: dg.Definitions):
    checks = {key.to_user_string() for key in defs.resolve_asset_graph().asset_check_keys}
    assert len(checks) > 100
    assert any(name.startswith("retention/retention_status:") for name in checks)
    assert "retention_run:nothing_overdue_after_apply" in checks


def test_retention_apply_runs_the_blocking_check_after_the_run(defs: dg.Definitions):
    job = defs.resolve_job_def("retention_apply")
    assert sorted(n.name for n in job.graph.nodes) == [
        "retention_run",
        "retention_run_nothing_overdue_after_apply",
    ]
    graph = defs.resolve_asset_graph()
    spec = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey("retention_run"), "nothing_overdue_after_apply")
    )
    assert spec.blocking


def test_dagster_definitions_validate_succeeds(defs: dg.Definitions, tmp_path: Path):
    completed = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_make_ui_instance_limits_the_warehouse_pool_to_one_step(tmp_path: Path):
    shutil.copy(PROJECT_DIR / "orchestration" / "dagster_home" / "dagster.yaml", tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity.value == "op"
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "DAGSTER_HOME=$${DAGSTER_HOME:-$(abspath orchestration/dagster_home)}" in makefile


# --- schedules: the scheduled date, in London ---------------------------------------------


def evaluate(defs: dg.Definitions, name: str, when: dt.datetime) -> dg.RunRequest:
    schedule = defs.resolve_schedule_def(name)
    context = dg.build_schedule_context(scheduled_execution_time=when)
    (request,) = schedule.evaluate_tick(context).run_requests
    return request


def test_schedules_pass_the_scheduled_london_date(defs: dg.Definitions):
    # 01:00 London on 1 October (BST) is still 30 September in UTC
    build = evaluate(defs, "nightly_build_schedule", dt.datetime(2025, 10, 1, 1, tzinfo=LONDON))
    assert build.run_config == {
        "ops": {"tinytracker_dbt_assets": {"config": {"as_of": "2025-10-01", "full_tests": False}}}
    }
    # the Sunday build is the weekly full scan behind the daily tests scoped to new rows
    sunday = evaluate(defs, "nightly_build_schedule", dt.datetime(2025, 10, 5, 1, tzinfo=LONDON))
    assert sunday.run_config == {
        "ops": {"tinytracker_dbt_assets": {"config": {"as_of": "2025-10-05", "full_tests": True}}}
    }
    apply = evaluate(defs, "retention_apply_schedule", dt.datetime(2025, 10, 1, 1, tzinfo=dt.UTC))
    assert apply.run_config == {
        "ops": {"retention_run": {"config": {"as_of": "2025-10-01", "dry_run": False}}}
    }
    backup = evaluate(defs, "nightly_backup_schedule", dt.datetime(2026, 1, 5, 3, tzinfo=LONDON))
    assert backup.run_config == {
        "ops": {"snapshot_warehouse": {"config": {"taken_on": "2026-01-05"}}}
    }
    for request, job in (
        (build, "nightly_build"),
        (sunday, "nightly_build"),
        (apply, "retention_apply"),
        (backup, "nightly_backup"),
    ):
        assert dg.validate_run_config(defs.resolve_job_def(job), request.run_config)


def test_a_retention_run_launched_by_hand_is_a_dry_run():
    from orchestration.defs.retention.config import RetentionRunConfig

    assert RetentionRunConfig().dry_run is True
    assert RetentionRunConfig().as_of is None


# --- the landing sensor ---------------------------------------------------------------------


def landing_folder(root: Path, name: str, *, ready: bool = True) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "organisations.csv").write_text("organisation_id\nORG001\n")
    if ready:
        (folder / "_READY").touch()
    return folder


def sense(defs: dg.Definitions, cursor: str | None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("landing_sensor")
    return sensor(dg.build_sensor_context(cursor=cursor))


def test_sensor_requests_one_load_per_new_ready_folder_and_none_for_a_seen_one(
    defs: dg.Definitions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TINYTRACKER_LANDING_DIR", str(tmp_path))
    landing_folder(tmp_path, "trust-2025-10-01")
    landing_folder(tmp_path, "trust-2025-10-02", ready=False)  # still being copied
    landing_folder(tmp_path, "_archive")  # operators' folders are ignored

    first = sense(defs, None)
    (request,) = first.run_requests
    assert request.run_key.startswith("trust-2025-10-01:")
    assert request.run_config == {
        "ops": {"load_extract_folder": {"config": {"folder": str(tmp_path / "trust-2025-10-01")}}}
    }
    assert dg.validate_run_config(defs.resolve_job_def("load_extract"), request.run_config)

    again = sense(defs, first.cursor)
    assert not again.run_requests and again.skip_reason

    (tmp_path / "trust-2025-10-02" / "_READY").touch()  # the copy finished
    later = sense(defs, again.cursor)
    assert [r.run_key.split(":")[0] for r in later.run_requests] == ["trust-2025-10-02"]


def test_sensor_loads_a_redelivered_folder_again(
    defs: dg.Definitions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TINYTRACKER_LANDING_DIR", str(tmp_path))
    folder = landing_folder(tmp_path, "trust")
    first = sense(defs, None)
    (folder / "organisations.csv").write_text("organisation_id\nORG001\nORG002\n")
    second = sense(defs, first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_sensor_skips_when_there_is_no_landing_folder(
    defs: dg.Definitions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TINYTRACKER_LANDING_DIR", str(tmp_path / "missing"))
    result = sense(defs, None)
    assert not result.run_requests and "does not exist" in result.skip_reason.skip_message


# --- the DPO report after retention runs --------------------------------------------------


def test_the_report_follows_an_applied_retention_run_and_skips_a_dry_run(defs: dg.Definitions):
    """Whether retention_apply succeeded or failed, the report sensors request the page for
    the date its retention run applied; a dry run (nothing changed) gets none."""

    @dg.asset(key="retention_run")
    def retention_run_that_did(context) -> dg.MaterializeResult:
        tags = context.run.tags
        return dg.MaterializeResult(
            metadata={"as_of": tags["as_of"], "dry_run": tags["dry_run"] == "true"}
        )

    instance = dg.DagsterInstance.ephemeral()
    for sensor_name in (
        "dpo_report_after_retention_apply",
        "dpo_report_after_failed_retention_apply",
    ):
        sensor = defs.resolve_sensor_def(sensor_name)
        for dry_run in ("false", "true"):
            run = dg.materialize(
                [retention_run_that_did],
                instance=instance,
                tags={"as_of": "2025-10-01", "dry_run": dry_run},
            )
            context = dg.build_run_status_sensor_context(
                sensor_name=sensor_name,
                dagster_instance=instance,
                dagster_run=run.dagster_run,
                dagster_event=run.get_run_success_event(),
            )
            result = sensor(context)
            if dry_run == "true":
                assert isinstance(result, dg.SkipReason) and "dry run" in result.skip_message
                continue
            assert result.run_config == {"ops": {"dpo_report": {"config": {"as_of": "2025-10-01"}}}}
            assert run.run_id in result.run_key
            assert dg.validate_run_config(
                defs.resolve_job_def("write_dpo_report"), result.run_config
            )


def test_a_run_that_made_no_retention_run_gets_no_report():
    from orchestration.defs.reporting.outcome import report_after_apply

    assert "made no retention run" in report_after_apply("abc", None, None)
    run_key, config = report_after_apply("abc", dt.date(2025, 10, 1), False)
    assert run_key == "dpo_report after abc"
