"""Dagster sees every run: a build and a retention apply done from the CLI are recorded in the
Dagster instance (DAGSTER_HOME) as materializations of the matching assets with the run's
as_of, so the UI's "last materialized" is true whichever way the work ran. Without
DAGSTER_HOME nothing is recorded and nothing fails. Every asset check says what its dbt test
checks."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import jsonschema
import pytest

from tinytracker.cli import recording
from tinytracker.cli.schemas import document_schema

from conftest import SYNTHETIC_AS_OF, run_cli
from dagster_helpers import defs  # noqa: F401 - fixture

AS_OF = SYNTHETIC_AS_OF.isoformat()


def json_run(*argv: str) -> dict:
    code, out, err = run_cli(*argv, "--json")
    document = json.loads(out)
    jsonschema.validate(document, document_schema(document["command"]))
    assert code == 0, err
    return document["result"]


def latest(instance: dg.DagsterInstance, *key: str) -> dict[str, object]:
    event = instance.get_latest_materialization_event(dg.AssetKey(list(key)))
    assert event is not None, f"{'/'.join(key)} was never materialized"
    assert event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_a_cli_build_and_apply_show_in_dagster_with_their_as_of(
    wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    built = json_run("build", "--as-of", AS_OF)
    assert built["as_of"] == AS_OF and built["dbt_exit_code"] in (0, 1)
    applied = json_run("retention", "apply", "--as-of", AS_OF, "--no-build")
    assert applied["outcome"] == "applied" and applied["physically_erased"]

    with dg.DagsterInstance.get() as instance:
        status = latest(instance, "retention", "retention_status")
        assert status["as_of"] == AS_OF
        assert status["recorded_from"] == "tinytracker retention apply (CLI)"
        run = latest(instance, "retention_run")
        assert (run["as_of"], run["outcome"]) == (AS_OF, "applied")
        assert run["rows"] == applied["rows"] and run["retention_run_id"] == applied["run_id"]
        assert latest(instance, "analyst_marts")["recorded_from"] == "tinytracker build (CLI)"
        assert latest(instance, "marts", "fct_attendance_by_group")["as_of"] == AS_OF
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(
                dg.AssetKey(["retention", "retention_status"]), "not_null_retention_status_status"
            ),
            limit=1,
        )
        assert checks, "the build's dbt tests are recorded as check evaluations"


def test_without_dagster_home_nothing_is_recorded_and_a_failing_recorder_only_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    from orchestration.defs.cli_runs import recorder

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert recorder.record(object()) is None  # returns before looking at the run

    def broken(run):
        raise RuntimeError("instance unreachable")

    monkeypatch.setattr(recording, "recorders", lambda: [("dagster", broken)])
    code, out, err = run_cli("backup", "create", "--as-of", "2025-07-18", "--warehouse",
                             str(tmp_path / "none.duckdb"))  # fmt: skip
    assert code == 2  # no warehouse to back up: nothing recorded, nothing to warn about
    db = tmp_path / "w.duckdb"
    assert run_cli("hold", "list", "--warehouse", str(db))[0] == 0
    monkeypatch.setenv("TINYTRACKER_BACKUP_DIR", str(tmp_path / "backups"))
    code, out, err = run_cli("backup", "create", "--as-of", "2025-07-18", "--warehouse", str(db))
    assert code == 0 and "not recorded by dagster: instance unreachable" in err


def test_every_asset_check_says_what_its_dbt_test_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checks = list(graph.asset_check_keys)
    assert len(checks) > 200
    missing = [
        key.to_user_string()
        for key in checks
        if not (graph.get_check_spec(key).description or "").strip()
    ]
    assert not missing, f"checks without a description: {missing[:10]}"
    status = graph.get_check_spec(
        dg.AssetCheckKey(
            dg.AssetKey(["retention", "retention_status"]), "not_null_retention_status_status"
        )
    )
    assert status.description == "`status` is never empty (null). dbt test not_null."
