"""Retention runs on a loaded synthetic trust: plan, apply, idempotence, crashes, holds, erasure.

One small extract is generated, loaded and built for as_of 2025-10-01 once per module; each
test works on its own copy of that warehouse. Comparisons are made table by table against a
copy taken before the run, so "changes nothing" and "changes exactly the plan" are checked on
every raw row, not on counts.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate, point_environment_at
from orchestration import storage, warehouse
from orchestration.contract import FILES_BY_NAME, LANDING_FILES
from orchestration.loader.run import load_extract
from orchestration.retention import apply as retention_apply
from orchestration.retention import holds

AS_OF = SYNTHETIC_AS_OF


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    return synthetic_warehouse


@pytest.fixture
def template(synthetic_template: SyntheticTemplate) -> SyntheticTemplate:
    return synthetic_template


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


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_plan_changes_nothing(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = retention_apply.run_retention(AS_OF, dry_run=True, build=False)
    assert result.dry_run and result.steps, "the synthetic trust has work due on 2025-10-01"
    assert_raw_unchanged(before, wh)
    logged = read(wh, "select distinct is_dry_run from audit.retention_log where run_id = ?",
                  [result.run_id])
    assert logged == [(True,)]


@dataclass(frozen=True)
class AppliedRun:
    """One apply on a copy of the template, with the warehouse as it was just before."""

    before: Path
    after: Path
    result: retention_apply.RunResult


@pytest.fixture(scope="module")
def applied(synthetic_template: SyntheticTemplate,
            tmp_path_factory: pytest.TempPathFactory) -> AppliedRun:
    root = tmp_path_factory.mktemp("applied")
    before, after = root / "before.duckdb", root / "after.duckdb"
    shutil.copy(synthetic_template.db, before)
    shutil.copy(synthetic_template.db, after)
    with pytest.MonkeyPatch.context() as env:
        point_environment_at(env, synthetic_template.root, after)
        result = retention_apply.run_retention(AS_OF, dry_run=False, build=False)
    return AppliedRun(before, after, result)


@pytest.fixture
def after_apply(applied: AppliedRun, synthetic_template: SyntheticTemplate, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the warehouse after the apply, selected through the environment."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(applied.after, db)
    point_environment_at(monkeypatch, synthetic_template.root, db)
    return db


def test_apply_changes_exactly_the_planned_rows(applied: AppliedRun):
    before, after = applied.before, applied.after
    plan = read(before, "select table_name, key_column, organisation_id, subject_id "
                        "from retention.retention_plan")
    planned_keys = {(t, o, s) for t, _, o, s in plan}
    assert applied.result.rows > 0
    for landing_file in LANDING_FILES:
        table = f"raw.{landing_file.name}"
        gone, _ = changed_rows(before, after, table)
        columns = list(landing_file.column_names)
        key_columns = {k for t, k, *_ in plan if t == table}
        for row in gone:
            values = dict(zip(columns, row))
            assert any((table, values["organisation_id"], values.get(k)) in planned_keys
                       for k in key_columns), f"{table} row changed without a plan row: {row}"
    # and every planned row was acted on: nothing is left under a planned key
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        pairs = con.execute("select distinct table_name, key_column from b.retention.retention_plan "
                            "where key_column not like '%.%'").fetchall()
        for table, key_column in pairs:
            left = con.execute(
                f"select count(*) from a.{table} as t semi join b.retention.retention_plan as p "
                f"on p.table_name = '{table}' and p.key_column = '{key_column}' "
                f"and t.organisation_id = p.organisation_id and t.{key_column} = p.subject_id"
            ).fetchone()[0]
            assert left == 0, f"{table} still has rows of planned subjects"
    finally:
        con.close()


def test_apply_keeps_anonymised_characteristics_and_child_rows(applied: AppliedRun):
    before, after = applied.before, applied.after
    pupils = read(before, "select organisation_id, subject_id from retention.retention_plan "
                          "where table_name = 'raw.pupils'")
    attendance_before = read(before, "select count(*) from raw.attendance_sessions")[0][0]
    anonymised = read(after, "select upn, forename, surname, date_of_birth, address, postcode, "
                             "email, phone, gender, year_group, anonymised_by_rule_id "
                             "from raw.pupils where anonymised_on is not null")
    assert len(anonymised) == len(pupils)
    assert all(row[:8] == (None,) * 8 and row[8] and row[9] and row[10] for row in anonymised)
    # marks are kept, re-keyed to the surrogate
    assert read(after, "select count(*) from raw.attendance_sessions")[0][0] == attendance_before
    orphans = read(after, "select count(*) from raw.attendance_sessions a anti join raw.pupils p "
                          "using (organisation_id, pupil_id)")[0][0]
    assert orphans == 0
    # every anonymised pupil is on the suppression list, which holds no way to its surrogate
    listed = read(after, "select count(*), count(surrogate_id) from audit.erasure_suppressions "
                         "where subject_kind = 'pupil'")
    assert listed[0] == (len(pupils), 0)


def test_apply_log_holds_no_personal_data(applied: AppliedRun):
    identifiers = {value for (value,) in read(
        applied.before,
        "select distinct v from (select unnest([pupil_id, upn, forename, surname, email]) as v "
        "from raw.pupils) where v is not null")}
    run_id = applied.result.run_id
    logged = read(applied.after, "select * from audit.retention_log where run_id = ?", [run_id])
    runs = read(applied.after, "select * from audit.retention_runs where run_id = ?", [run_id])
    assert logged and runs
    values = {str(v) for row in logged + runs for v in row}
    assert not values & identifiers


def test_second_apply_for_the_same_date_changes_nothing(after_apply: Path, tmp_path: Path):
    after_first = snapshot(after_apply, tmp_path / "after_first.duckdb")
    second = retention_apply.run_retention(AS_OF, dry_run=False, build=True)
    assert second.steps == [] and second.outcome == "nothing_due"
    assert "the warehouse is unchanged" in retention_apply.format_result(second)
    assert_raw_unchanged(after_first, after_apply)


def erased_upns(db: Path) -> list[str]:
    """UPNs of the pupils the plan anonymises: unique to their pupil, unlike names or postcodes
    that may still belong to someone kept."""
    return [v for (v,) in read(
        db, "select distinct p.upn from raw.pupils p join retention.retention_plan plan "
            "on plan.table_name = 'raw.pupils' and plan.organisation_id = p.organisation_id "
            "and plan.subject_id = p.pupil_id where p.upn is not null")]


def test_no_erased_value_is_left_in_the_warehouse_file(applied: AppliedRun):
    erased = erased_upns(applied.before)
    assert erased
    assert any(value.encode() in applied.before.read_bytes() for value in erased), \
        "values must be findable before"
    data = applied.after.read_bytes()
    assert [value for value in erased if value.encode() in data] == []
    assert not applied.after.with_name(applied.after.name + ".wal").exists()


def test_without_the_rewrite_erased_values_would_remain(wh: Path, monkeypatch):
    """Guards the test above: DELETE/UPDATE + CHECKPOINT alone leave the values in the file."""
    erased = erased_upns(wh)
    monkeypatch.setattr(retention_apply, "finish_physical_erasure", lambda *args: False)
    retention_apply.run_retention(AS_OF, dry_run=False, build=False)
    con = duckdb.connect(str(wh))
    con.execute("checkpoint")
    con.close()
    data = wh.read_bytes()
    assert any(value.encode() in data for value in erased)


def test_crash_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path, monkeypatch):
    before = snapshot(wh, tmp_path / "before.duckdb")

    def crash(statement_number: int) -> None:
        if statement_number == 4:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(retention_apply, "after_statement", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        retention_apply.run_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0
    assert read(wh, "select count(*) from audit.retention_log where not is_dry_run")[0][0] == 0


def test_process_killed_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    script = textwrap.dedent(
        """
        import os, signal
        from orchestration.retention import apply
        def kill(statement_number):
            if statement_number == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        apply.after_statement = kill
        apply.run_retention("2025-10-01", dry_run=False, build=False)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(),
                               capture_output=True, text=True, check=False)
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0


def test_held_subjects_are_not_touched(wh: Path, tmp_path: Path):
    org, pupil = read(wh, "select organisation_id, subject_id from retention.retention_plan "
                          "where table_name = 'raw.pupils' order by 1, 2 limit 1")[0]
    held_org = read(wh, "select distinct organisation_id from retention.retention_plan "
                        "where organisation_id <> ? order by 1 limit 1", [org])[0][0]
    con = warehouse.connect()
    holds.add_hold(con, organisation_id=org, subject_kind="pupil", subject_id=pupil,
                   reason="complaint under investigation", placed_by="dpo")
    holds.add_hold(con, organisation_id=held_org, subject_kind="organisation", subject_id=None,
                   reason="legal claim", placed_by="dpo")
    con.close()
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = retention_apply.run_retention(AS_OF, dry_run=False, build=True)
    assert result.rows > 0
    assert read(wh, "select upn is not null from raw.pupils where organisation_id = ? "
                    "and pupil_id = ?", [org, pupil]) == [(True,)]
    for table in (f"raw.{f.name}" for f in LANDING_FILES):
        gone, _ = changed_rows(before, wh, table)
        key = FILES_BY_NAME[table.removeprefix("raw.")].column_names.index("organisation_id")
        assert not [row for row in gone if row[key] == held_org], f"{table} of held org changed"
    statuses = read(wh, "select status from retention.retention_status where organisation_id = ? "
                        "and subject_id = ? and subject_kind = 'pupil'", [org, pupil])
    assert ("on_hold",) in statuses and ("actioned",) not in statuses


def test_reload_after_apply_resurrects_nothing(applied: AppliedRun, after_apply: Path,
                                             template: SyntheticTemplate):
    planned = read(applied.before, "select distinct organisation_id, subject_kind, subject_id "
                                   "from retention.retention_plan")
    result = load_extract(template.extract)
    assert result.total("suppressed") > 0
    # nothing kept is changed back either (e.g. a report re-pointed at an erased author's id)
    assert result.total("inserted") == result.total("updated") == 0
    lookups = {
        "pupil": "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        "pupil_contact": "select count(*) from raw.pupil_contacts where organisation_id = ? "
                         "and contact_id = ?",
        "employee": "select count(*) from raw.employees where organisation_id = ? "
                    "and employee_id = ?",
        "correspondence": "select count(*) from raw.correspondence where organisation_id = ? "
                          "and correspondence_id = ?",
        "setup_import": "select count(*) from raw.setup_imports where organisation_id = ? "
                        "and import_id = ?",
    }
    con = duckdb.connect(str(after_apply), read_only=True)
    try:
        back = [(kind, org, subject) for org, kind, subject in planned
                if con.execute(lookups[kind], [org, subject]).fetchone()[0]]
        children = con.execute(
            "select count(*) from raw.attendance_sessions a semi join "
            "(select unnest(?) as organisation_id, unnest(?) as pupil_id) p "
            "using (organisation_id, pupil_id)",
            [[o for o, k, _ in planned if k == "pupil"], [s for _, k, s in planned if k == "pupil"]],
        ).fetchone()[0]
    finally:
        con.close()
    assert back == []
    assert children == 0


def test_apply_without_a_secret_refuses_before_changing_anything(wh: Path, tmp_path: Path,
                                                                  monkeypatch):
    before = snapshot(wh, tmp_path / "before.duckdb")
    monkeypatch.delenv(warehouse.SECRET_ENV)
    with pytest.raises(Exception, match="TINYTRACKER_SECRET"):
        retention_apply.run_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
