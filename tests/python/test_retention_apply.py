"""Retention runs on a loaded synthetic trust: plan, apply, idempotence, crashes, holds, erasure.

One small extract is generated, loaded and built for as_of 2025-10-01 once per session; each
test works on its own copy of that warehouse. The module's one real apply (``applied``) runs
on a copy reloaded from the same extract with a column beyond the contract in every file an
anonymise step touches (an NHS number, a home address, ...), after a dry run for a simulated
date through the CLI. Comparisons are made table by table against a copy taken before the
run, so "changes nothing" and "changes exactly the plan" are checked on every raw row, not on
counts.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
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

from tinytracker import tasks
from tinytracker.cli import main as cli
from tinytracker.core import paths, policy, secret, warehouse
from tinytracker.core.contract import FILES_BY_NAME, LANDING_FILES
from tinytracker.erasure import transaction
from tinytracker.erasure.result import RunResult, action_date
from tinytracker.erasure.transaction import DRY_RUN_SCHEMA
from tinytracker.loading.run import load_extract
from tinytracker.retention import holds
from tinytracker.retention.output import format_result

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate, point_environment_at

AS_OF = SYNTHETIC_AS_OF
SIMULATED_AS_OF = "2029-06-01"  # a dry run may simulate any date, the future included
# one column beyond the landing contract per file an anonymise step touches: the loader keeps
# it in _extra, and it is personal data like any other
EXTRA_COLUMNS = {
    "pupils": "nhs_number",
    "employees": "home_address",
    "attendance_sessions": "register_note",
    "assessments": "marker_comment",
    "sen_records": "keyworker_note",
    "reports": "parent_comment",
}


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    return synthetic_warehouse


@pytest.fixture
def template(synthetic_template: SyntheticTemplate) -> SyntheticTemplate:
    return synthetic_template


RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES] + ["raw.quarantine"]
# The surrogate ids of the people an apply anonymised, with the rule that did it
ANONYMISED_PEOPLE = {
    "pupil": "select organisation_id, pupil_id as surrogate_id, anonymised_by_rule_id as rule_id "
    "from raw.pupils where anonymised_on is not null",
    "employee": "select organisation_id, employee_id as surrogate_id, "
    "anonymised_by_rule_id as rule_id from raw.employees "
    "where anonymised_on is not null",
}


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


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``tinytracker ARGV`` in process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def dpo_view(db: Path) -> tuple[list[tuple], list[tuple], str]:
    """What the DPO reads: retention_status and retention_plan rows, and the report's status."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        statuses = sorted(
            con.execute("select * from retention.retention_status").fetchall(), key=repr
        )
        plan = sorted(con.execute("select * from retention.retention_plan").fetchall(), key=repr)
        from tinytracker.reporting.summary import render

        report = render(con)
    finally:
        con.close()
    (status_section,) = [
        block for block in report.split("\n\n") if block.startswith("Retention status on")
    ]
    return statuses, plan, status_section


def extend_extract(source: Path, target: Path) -> Path:
    """A copy of ``source`` with a unique value in one extra column per anonymised file."""
    shutil.copytree(source, target)
    for file, column in EXTRA_COLUMNS.items():
        path = target / f"{file}.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        rows[0].append(column)
        for n, row in enumerate(rows[1:], start=1):
            row.append(f"{column.upper()}-{file[:3]}{n:07d}")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return target


def test_plan_changes_nothing(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = tasks.apply_retention(AS_OF, dry_run=True, build=False)
    assert result.dry_run and result.steps, "the synthetic trust has work due on 2025-10-01"
    assert_raw_unchanged(before, wh)
    logged = read(
        wh, "select distinct is_dry_run from audit.retention_log where run_id = ?", [result.run_id]
    )
    assert logged == [(True,)]


@dataclass(frozen=True)
class AppliedRun:
    """One apply on a reloaded copy of the template, with the warehouse as it was just before."""

    before: Path
    after: Path
    result: RunResult
    planned: RunResult  # the dry run of the same plan just before
    extract: Path  # the extract with columns beyond the contract
    dpo_before_simulation: tuple[list[tuple], list[tuple], str]
    dpo_after_simulation: tuple[list[tuple], list[tuple], str]
    simulation: tuple[int, str, str]  # `tinytracker retention plan --as-of SIMULATED_AS_OF`


@pytest.fixture(scope="module")
def applied(
    synthetic_template: SyntheticTemplate, tmp_path_factory: pytest.TempPathFactory
) -> AppliedRun:
    root = tmp_path_factory.mktemp("applied")
    extract = extend_extract(synthetic_template.extract, root / "extract")
    before, after = root / "before.duckdb", root / "after.duckdb"
    shutil.copy(synthetic_template.db, after)
    with pytest.MonkeyPatch.context() as env:
        point_environment_at(env, synthetic_template.root, after)
        load_extract(extract)  # the same rows, now with _extra values
        dpo_before = dpo_view(after)
        simulation = run_cli("retention", "plan", "--as-of", SIMULATED_AS_OF)
        dpo_after = dpo_view(after)
        planned = tasks.apply_retention(AS_OF, dry_run=True, build=False)
        shutil.copy(after, before)
        result = tasks.apply_retention(AS_OF, dry_run=False, build=False)
    return AppliedRun(before, after, result, planned, extract, dpo_before, dpo_after, simulation)


@pytest.fixture
def after_apply(
    applied: AppliedRun,
    synthetic_template: SyntheticTemplate,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A private copy of the warehouse after the apply, selected through the environment."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(applied.after, db)
    point_environment_at(monkeypatch, synthetic_template.root, db)
    return db


def test_apply_changes_exactly_the_planned_rows(applied: AppliedRun):
    before, after = applied.before, applied.after
    plan = read(
        before,
        "select table_name, key_column, organisation_id, subject_id from retention.retention_plan",
    )
    planned_keys = {(t, o, s) for t, _, o, s in plan}
    assert applied.result.rows > 0
    for landing_file in LANDING_FILES:
        table = f"raw.{landing_file.name}"
        gone, _ = changed_rows(before, after, table)
        columns = list(landing_file.column_names)
        key_columns = {k for t, k, *_ in plan if t == table}
        for row in gone:
            values = dict(zip(columns, row))
            assert any(
                (table, values["organisation_id"], values.get(k)) in planned_keys
                for k in key_columns
            ), f"{table} row changed without a plan row: {row}"
    # and every planned row was acted on: nothing is left under a planned key
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        pairs = con.execute(
            "select distinct table_name, key_column from b.retention.retention_plan "
            "where key_column not like '%.%'"
        ).fetchall()
        for table, key_column in pairs:
            left = con.execute(
                f"select count(*) from a.{table} as t semi join b.retention.retention_plan as p "
                f"on p.table_name = '{table}' and p.key_column = '{key_column}' "
                f"and t.organisation_id = p.organisation_id and t.{key_column} = p.subject_id"
            ).fetchone()[0]
            assert left == 0, f"{table} still has rows of planned subjects"
    finally:
        con.close()


def test_plan_counts_are_the_rows_the_apply_changed(applied: AppliedRun):
    """Each physical row is planned once, under the step that changes it: plan counts equal the
    apply's counts, audit.retention_log's rows_affected and the rows that actually changed."""
    before, after, run_id = applied.before, applied.after, applied.result.run_id
    # the contacts rule and the pupil rules (step 6) reach the same contact rows here
    overlap = read(
        before,
        """
        select count(*) from raw.pupil_contacts as c
        inner join retention.retention_status as contact
            on contact.subject_kind = 'pupil_contact'
            and contact.organisation_id = c.organisation_id
            and contact.subject_id = c.contact_id and contact.status = 'due'
        inner join retention.retention_status as pupil
            on pupil.subject_kind = 'pupil' and pupil.organisation_id = c.organisation_id
            and pupil.subject_id = c.pupil_id and pupil.status = 'due' and pupil.is_winning_rule
    """,
    )[0][0]
    assert overlap > 0, "the synthetic trust must exercise overlapping steps"
    planned = {
        (r, t, a): int(n)
        for r, t, a, n in read(
            before,
            "select rule_id, table_name, action, sum(row_count) "
            "from retention.retention_plan group by all",
        )
    }
    applied_rows = {(s.rule_id, s.table_name, s.action): s.rows for s in applied.result.steps}
    logged = {
        (r, t, a): n
        for r, t, a, n in read(
            after,
            "select rule_id, table_name, action, rows_affected from audit.retention_log "
            "where run_id = ?",
            [run_id],
        )
    }
    assert planned == applied_rows == logged
    assert applied.planned.steps == applied.result.steps  # the dry run said the same
    assert not [key for key, rows in applied_rows.items() if rows == 0]

    def planned_rows(table: str, action: str) -> int:
        return sum(n for (_, t, a), n in planned.items() if (t, a) == (table, action))

    # deletes: the rows gone from each table are the planned rows, each once
    for table in (
        "raw.pupil_contacts",
        "raw.quarantine",
        "raw.correspondence",
        "raw.setup_imports",
    ):
        gone = (
            read(before, f"select count(*) from {table}")[0][0]
            - read(after, f"select count(*) from {table}")[0][0]
        )
        assert gone == planned_rows(table, "delete"), table
    # anonymise: the rows now under each rule's surrogates, with the planned columns cleared
    # (the suppression list keeps no token-to-surrogate link, so the anonymised people are
    # found by the rule that anonymised them)
    surrogate_rows = """
        with s as ({surrogates})
        select s.rule_id, count(*) from {table} as t
        inner join s on s.organisation_id = t.organisation_id and s.surrogate_id = t.{key}
        where {cleared}
        group by s.rule_id
    """
    checks = [
        (
            "raw.pupils",
            "pupil_id",
            "pupil",
            "upn is null and date_of_birth is null and _extra is null",
        ),
        ("raw.attendance_sessions", "pupil_id", "pupil", "_extra is null"),
        ("raw.assessments", "pupil_id", "pupil", "_extra is null"),
        ("raw.sen_records", "pupil_id", "pupil", "notes is null and _extra is null"),
        ("raw.reports", "pupil_id", "pupil", "title is null and _extra is null"),
        ("raw.employees", "employee_id", "employee", "email is null and _extra is null"),
        ("raw.reports", "author_employee_id", "employee", "true"),
    ]
    for table, key, kind, cleared in checks:
        found = dict(
            read(
                after,
                surrogate_rows.format(
                    table=table, key=key, cleared=cleared, surrogates=ANONYMISED_PEOPLE[kind]
                ),
            )
        )
        expected = {
            rule: n
            for (rule, t, a), n in planned.items()
            if t == table
            and a == "anonymise"
            and rule.startswith("employees") == (kind == "employee")
        }
        assert found == expected, (table, key)


def test_apply_keeps_anonymised_characteristics_and_child_rows(applied: AppliedRun):
    before, after = applied.before, applied.after
    pupils = read(
        before,
        "select organisation_id, subject_id from retention.retention_plan "
        "where table_name = 'raw.pupils'",
    )
    attendance_before = read(before, "select count(*) from raw.attendance_sessions")[0][0]
    anonymised = read(
        after,
        "select upn, forename, surname, date_of_birth, address, postcode, "
        "email, phone, gender, year_group, anonymised_by_rule_id "
        "from raw.pupils where anonymised_on is not null",
    )
    assert len(anonymised) == len(pupils)
    assert all(row[:8] == (None,) * 8 and row[8] and row[9] and row[10] for row in anonymised)
    # marks are kept, re-keyed to the surrogate
    assert read(after, "select count(*) from raw.attendance_sessions")[0][0] == attendance_before
    orphans = read(
        after,
        "select count(*) from raw.attendance_sessions a anti join raw.pupils p "
        "using (organisation_id, pupil_id)",
    )[0][0]
    assert orphans == 0
    # every anonymised pupil is on the suppression list, which holds no way to its surrogate
    listed = read(
        after,
        "select count(*), count(surrogate_id) from audit.erasure_suppressions "
        "where subject_kind = 'pupil'",
    )
    assert listed[0] == (len(pupils), 0)


def test_apply_log_holds_no_personal_data(applied: AppliedRun):
    identifiers = {
        value
        for (value,) in read(
            applied.before,
            "select distinct v from (select unnest([pupil_id, upn, forename, surname, email]) as v "
            "from raw.pupils) where v is not null",
        )
    }
    run_id = applied.result.run_id
    logged = read(applied.after, "select * from audit.retention_log where run_id = ?", [run_id])
    runs = read(applied.after, "select * from audit.retention_runs where run_id = ?", [run_id])
    assert logged and runs
    values = {str(v) for row in logged + runs for v in row}
    assert not values & identifiers


def test_anonymised_pupils_keep_their_birth_cohort(applied: AppliedRun):
    """Spec: anonymised pupils keep "year group / birth cohort (academic year of birth)"."""
    before, after = applied.before, applied.after
    born = read(
        before,
        """
        select p.organisation_id, p.date_of_birth from raw.pupils as p
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.pupils' and plan.organisation_id = p.organisation_id
            and plan.subject_id = p.pupil_id
        where p.date_of_birth is not null""",
    )
    assert born

    def academic_year_of(day: dt.date) -> int:  # 1 September to 31 August
        return day.year if day.month >= 9 else day.year - 1

    expected = sorted((org, academic_year_of(day)) for org, day in born)
    kept = read(
        after,
        "select organisation_id, birth_academic_year from raw.pupils "
        "where anonymised_on is not null and birth_academic_year is not null "
        "order by all",
    )
    assert kept == expected
    assert read(
        after,
        "select count(*) from raw.pupils where anonymised_on is not null "
        "and date_of_birth is not null",
    ) == [(0,)]
    # stg_pupils shows the cohort for every pupil: kept for the anonymised, derived for the rest
    staged = read(
        after, "select date_of_birth, birth_academic_year, is_anonymised from staging.stg_pupils"
    )
    assert {a for _, a, anonymised in staged if anonymised} == {a for _, a in expected}
    live = [(day, year) for day, year, anonymised in staged if not anonymised and day]
    assert live and all(year == academic_year_of(day) for day, year in live)
    assert academic_year_of(dt.date(2015, 8, 31)) == 2014  # the boundary the macro must match
    assert read(
        after,
        "select count(*) from staging.stg_pupils where not is_anonymised "
        "and date_of_birth = date '2015-08-31' and birth_academic_year <> 2014",
    ) == [(0,)]


def test_columns_beyond_the_contract_are_cleared_by_every_anonymise_step(applied: AppliedRun):
    before, after = applied.before, applied.after
    for file, column in EXTRA_COLUMNS.items():
        # every row of the reloaded extract carries the extra value
        assert read(
            before,
            f"select count(*) from raw.{file} "
            f"where json_extract_string(_extra, '$.{column}') is null",
        ) == [(0,)]
    # anonymised subjects and every child row re-keyed to a surrogate lost it
    for table, key, kind in (
        ("pupils", "pupil_id", "pupil"),
        ("attendance_sessions", "pupil_id", "pupil"),
        ("assessments", "pupil_id", "pupil"),
        ("sen_records", "pupil_id", "pupil"),
        ("reports", "pupil_id", "pupil"),
        ("employees", "employee_id", "employee"),
    ):
        left = read(
            after,
            f"""
            with s as ({ANONYMISED_PEOPLE[kind]})
            select count(*), count(t._extra) from raw.{table} as t
            semi join s on s.organisation_id = t.organisation_id
                and s.surrogate_id = t.{key}""",
        )[0]
        assert left[0] > 0 and left[1] == 0, table
    # kept subjects keep theirs (nothing is cleared that no rule made due)
    assert read(
        after, "select count(*) from raw.pupils where anonymised_on is null and _extra is null"
    ) == [(0,)]
    with open(paths.SEEDS_DIR / "policy" / "retention_actions.csv", encoding="utf-8") as fh:
        anonymise_steps = [r for r in csv.DictReader(fh) if r["operation"] == "anonymise"]
    # every anonymise step of the subject's own rows; a report re-keyed to its erased author
    # stays the (kept) pupil's row, with the pupil's columns
    assert anonymise_steps and all(
        "_extra" in r["columns_to_clear"].split(",")
        for r in anonymise_steps
        if r["key_column"] != "author_employee_id"
    )


def test_actions_record_the_real_date_and_backups_clear_from_it(applied: AppliedRun):
    after, run_id = applied.after, applied.result.run_id
    today = action_date()
    assert today > AS_OF
    clears = today + dt.timedelta(days=policy.backup_retention_days())
    assert (applied.result.actioned_on, applied.result.backups_clear_on) == (today, clears)
    for table in ("raw.pupils", "raw.employees"):
        assert read(
            after, f"select distinct anonymised_on from {table} where anonymised_on is not null"
        ) == [(today,)]
    assert read(after, "select distinct actioned_on from audit.erasure_suppressions") == [(today,)]
    assert read(
        after,
        "select distinct as_of, backups_clear_on from audit.retention_log where run_id = ?",
        [run_id],
    ) == [(AS_OF, clears)]
    assert read(
        after, "select as_of, backups_clear_on from audit.retention_runs where run_id = ?", [run_id]
    ) == [(AS_OF, clears)]
    # retention_status (rebuilt for the run's as_of) shows when it was really done
    assert read(
        after,
        "select distinct as_of, actioned_on, backups_clear_on "
        "from retention.retention_status where status = 'actioned'",
    ) == [(AS_OF, today, clears)]
    assert f"actioned on {today}" in format_result(applied.result)


def test_apply_refuses_an_as_of_after_today(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    tomorrow = action_date() + dt.timedelta(days=1)
    code, _, err = run_cli("retention", "apply", "--as-of", tomorrow.isoformat(), "--no-build")
    assert code != 0
    assert f"as_of {tomorrow} is after today" in err
    assert f"tinytracker retention plan --as-of {tomorrow}" in err
    with pytest.raises(Exception, match="after today"):
        tasks.apply_retention(tomorrow, dry_run=False, build=True)
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.retention_log") == [(0,)]  # refused first


def test_dry_run_for_a_simulated_date_leaves_the_dpo_relations_untouched(
    applied: AppliedRun, template: SyntheticTemplate
):
    """`tinytracker retention plan --as-of 2029-06-01` builds its own copy of the retention
    models: retention.*, and what `tinytracker report` shows, still show the real build."""
    code, out, err = applied.simulation
    assert code == 0, err
    assert f"retention plan (dry run) for {SIMULATED_AS_OF}" in out
    assert applied.dpo_after_simulation == applied.dpo_before_simulation
    statuses, plan, report = applied.dpo_after_simulation
    assert statuses and plan and f"Retention status on {AS_OF}" in report
    simulated = dt.date.fromisoformat(SIMULATED_AS_OF)
    before = applied.before
    assert read(before, "select distinct as_of from retention_dry_run.retention_plan") == [
        (simulated,)
    ]
    assert read(before, "select distinct as_of from retention_dry_run.retention_status") == [
        (simulated,)
    ]
    # the simulated date reaches further than the real one, and is audited as a dry run
    assert (
        read(before, "select count(*) from retention_dry_run.retention_plan")[0][0]
        > read(before, "select count(*) from retention.retention_plan")[0][0]
    )
    assert read(
        before, "select distinct is_dry_run from audit.retention_log where as_of = ?", [simulated]
    ) == [(True,)]
    # dagster-dbt names assets after the manifest's schemas: the dry run wrote its own beside
    manifest = json.loads((template.root / "target" / "manifest.json").read_text())
    assert manifest["nodes"]["model.tinytracker.retention_plan"]["schema"] == "retention"
    dry_manifest = json.loads(
        (template.root / "target" / DRY_RUN_SCHEMA / "manifest.json").read_text()
    )
    assert dry_manifest["nodes"]["model.tinytracker.retention_plan"]["schema"] == (DRY_RUN_SCHEMA)


def test_the_apply_drops_the_dry_run_copy_that_names_erased_subjects(applied: AppliedRun):
    assert read(
        applied.after,
        "select count(*) from information_schema.schemata where schema_name = ?",
        [DRY_RUN_SCHEMA],
    ) == [(0,)]


def test_second_apply_for_the_same_date_changes_nothing(after_apply: Path, tmp_path: Path):
    after_first = snapshot(after_apply, tmp_path / "after_first.duckdb")
    second = tasks.apply_retention(AS_OF, dry_run=False, build=True)
    assert second.steps == [] and second.outcome == "nothing_due"
    assert "the warehouse is unchanged" in format_result(second)
    assert_raw_unchanged(after_first, after_apply)


def erased_values(before: Path, after: Path) -> dict[str, list[str]]:
    """Per kind, values only the erased rows held: UPNs, names, e-mails, SEN notes and the
    columns beyond the contract of the subjects the plan erases, less any value (or part of
    one) still held by a kept row, a seed or the catalogue of the warehouse after the run."""
    planned_pupils = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.pupils' and plan.organisation_id = t.organisation_id
            and plan.subject_id = t.pupil_id"""
    planned_employees = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.employees' and plan.organisation_id = t.organisation_id
            and plan.subject_id = t.employee_id"""
    deleted_contacts = """
        semi join retention.retention_plan as plan
            on plan.table_name = 'raw.pupil_contacts' and plan.organisation_id = t.organisation_id
            and (plan.subject_id = t.contact_id and plan.key_column = 'contact_id'
                 or plan.subject_id = t.pupil_id and plan.key_column = 'pupil_id')"""
    extra = " || ".join(
        f"coalesce(json_extract_string(t._extra, '$.{c}'), '') || '|'"
        for c in EXTRA_COLUMNS.values()
    )
    queries = {
        "upn": f"select t.upn from raw.pupils as t {planned_pupils}",
        "names": f"""select unnest([t.forename, t.surname]) from raw.pupils as t {planned_pupils}
                     union all select unnest([t.forename, t.surname])
                     from raw.pupil_contacts as t {deleted_contacts}""",
        "email": f"""select t.email from raw.pupils as t {planned_pupils}
                     union all select t.email from raw.pupil_contacts as t {deleted_contacts}
                     union all select t.email from raw.employees as t {planned_employees}""",
        "sen_notes": f"select t.notes from raw.sen_records as t {planned_pupils}",
        "extra": f"""select unnest(string_split({extra}, '|')) from (
                         select _extra, organisation_id, pupil_id from raw.pupils
                         union all select _extra, organisation_id, pupil_id from raw.sen_records
                         union all select _extra, organisation_id, pupil_id from raw.assessments
                         union all select _extra, organisation_id, pupil_id from raw.reports
                     ) as t {planned_pupils}
                     union all select json_extract_string(t._extra, '$.home_address')
                     from raw.employees as t {planned_employees}""",
    }
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        con.execute("use a")
        # every string the warehouse still holds lawfully, catalogue text included
        texts = [
            "select sql from duckdb_views() where database_name = 'a'",
            "select column_name from duckdb_columns() where database_name = 'a'",
            "select table_name from duckdb_tables() where database_name = 'a'",
        ]
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = 'a' and data_type in ('VARCHAR', 'JSON')"
        ).fetchall():
            texts.append(f'select cast("{column}" as varchar) from a."{schema}"."{table}"')
        con.execute(
            "create temp table kept_text as select distinct * from ("
            + " union all ".join(f"({q})" for q in texts)
            + ") as k(value) "
            "where value is not null"
        )
        con.execute("use b")
        found: dict[str, list[str]] = {}
        for kind, sql in queries.items():
            found[kind] = [
                v
                for (v,) in con.execute(f"""
                with candidates as (select distinct v from ({sql}) as c(v)
                                    where v is not null and length(v) >= 6)
                select v from candidates
                where not exists (select 1 from kept_text where contains(kept_text.value, v))
                order by v""").fetchall()
            ]
    finally:
        con.close()
    return found


def test_no_erased_value_is_left_in_the_warehouse_file(applied: AppliedRun):
    erased = erased_values(applied.before, applied.after)
    before, data = applied.before.read_bytes(), applied.after.read_bytes()
    for kind, values in erased.items():
        assert values, f"the synthetic trust has erased {kind}"
        assert any(value.encode() in before for value in values), (
            f"{kind} values must be findable in the file before"
        )
        assert [value for value in values if value.encode() in data] == [], kind
    assert not applied.after.with_name(applied.after.name + ".wal").exists()


def erased_upns(db: Path) -> list[str]:
    """UPNs of the pupils the plan anonymises: unique to their pupil, unlike names or postcodes
    that may still belong to someone kept."""
    return [
        v
        for (v,) in read(
            db,
            "select distinct p.upn from raw.pupils p join retention.retention_plan plan "
            "on plan.table_name = 'raw.pupils' and plan.organisation_id = p.organisation_id "
            "and plan.subject_id = p.pupil_id where p.upn is not null",
        )
    ]


def test_without_the_rewrite_erased_values_would_remain_until_the_next_run_finishes_it(
    wh: Path, monkeypatch
):
    """Guards the test above: DELETE/UPDATE + CHECKPOINT alone leave the values in the file.
    The next apply finishes the interrupted rewrite first, and says so."""
    erased = erased_upns(wh)
    real_finish = tasks.finish_erasure
    monkeypatch.setattr(tasks, "finish_erasure", lambda *args, **kwargs: [])
    tasks.apply_retention(AS_OF, dry_run=False, build=False)
    con = duckdb.connect(str(wh))
    con.execute("checkpoint")
    con.close()
    data = wh.read_bytes()
    assert any(value.encode() in data for value in erased)
    monkeypatch.setattr(tasks, "finish_erasure", real_finish)
    second = tasks.apply_retention(AS_OF, dry_run=False, build=False)
    report = format_result(second)
    assert second.finished_earlier_runs == 1 and second.steps == []
    assert "finished the interrupted file rewrite of 1 earlier run(s)" in report
    assert "the warehouse is unchanged" not in report
    assert not [value for value in erased if value.encode() in wh.read_bytes()]
    assert read(
        wh,
        "select outcome, physically_erased_at is not null from audit.retention_runs "
        "order by started_at",
    ) == [("applied", True), ("nothing_due", False)]


def test_crash_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path, monkeypatch):
    before = snapshot(wh, tmp_path / "before.duckdb")

    def crash(statement_number: int) -> None:
        if statement_number == 4:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(transaction, "after_statement", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        tasks.apply_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0
    assert read(wh, "select count(*) from audit.retention_log where not is_dry_run")[0][0] == 0


def test_process_killed_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    script = textwrap.dedent(
        """
        import os, signal
        from tinytracker import tasks
        from tinytracker.erasure import transaction
        from tinytracker.erasure.result import RunResult, action_date
        from tinytracker.erasure.ledger import ledger_dir
        from tinytracker.retention.output import format_result
        from tinytracker.erasure.transaction import DRY_RUN_SCHEMA
        def kill(statement_number):
            if statement_number == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        transaction.after_statement = kill
        tasks.apply_retention("2025-10-01", dry_run=False, build=False)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0


def test_held_subjects_are_not_touched(wh: Path, tmp_path: Path):
    org, pupil = read(
        wh,
        "select organisation_id, subject_id from retention.retention_plan "
        "where table_name = 'raw.pupils' order by 1, 2 limit 1",
    )[0]
    held_org = read(
        wh,
        "select distinct organisation_id from retention.retention_plan "
        "where organisation_id <> ? order by 1 limit 1",
        [org],
    )[0][0]
    con = warehouse.connect()
    holds.add_hold(
        con,
        organisation_id=org,
        subject_kind="pupil",
        subject_id=pupil,
        reason="complaint under investigation",
        placed_by="dpo",
    )
    holds.add_hold(
        con,
        organisation_id=held_org,
        subject_kind="organisation",
        subject_id=None,
        reason="legal claim",
        placed_by="dpo",
    )
    con.close()
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = tasks.apply_retention(AS_OF, dry_run=False, build=True)
    assert result.rows > 0
    assert read(
        wh,
        "select upn is not null from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(True,)]
    for table in (f"raw.{f.name}" for f in LANDING_FILES):
        gone, _ = changed_rows(before, wh, table)
        key = FILES_BY_NAME[table.removeprefix("raw.")].column_names.index("organisation_id")
        assert not [row for row in gone if row[key] == held_org], f"{table} of held org changed"
    statuses = read(
        wh,
        "select status from retention.retention_status where organisation_id = ? "
        "and subject_id = ? and subject_kind = 'pupil'",
        [org, pupil],
    )
    assert ("on_hold",) in statuses and ("actioned",) not in statuses


def test_hold_placed_after_the_plan_was_built_is_kept_by_apply_no_build(wh: Path, tmp_path: Path):
    """`hold add` then `retention apply --no-build`: the plan still names the held subjects,
    but the apply re-reads the standing holds in its transaction and leaves them alone."""
    org, pupil = read(
        wh,
        """
        select p.organisation_id, p.subject_id from retention.retention_plan as p
        inner join raw.pupil_contacts as c
            on c.organisation_id = p.organisation_id and c.pupil_id = p.subject_id
        where p.table_name = 'raw.pupils' order by 1, 2 limit 1""",
    )[0]
    held_org = read(
        wh,
        "select distinct organisation_id from retention.retention_plan "
        "where organisation_id <> ? order by 1 limit 1",
        [org],
    )[0][0]
    assert (
        run_cli(
            "hold",
            "add",
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--reason",
            "complaint under investigation",
            "--by",
            "dpo",
        )[0]
        == 0
    )
    assert (
        run_cli(
            "hold", "add", "--organisation", held_org, "--reason", "legal claim", "--by", "dpo"
        )[0]
        == 0
    )
    # what the holds cover, as the retention models would hold it: the whole organisation,
    # the pupil, its contacts and correspondence about the pupil or those contacts
    covered = read(
        wh,
        """
        select count(*) from (
            select distinct organisation_id, subject_kind, subject_id
            from retention.retention_plan as plan
            where organisation_id = $held_org
                or (organisation_id = $org and subject_kind = 'pupil' and subject_id = $pupil)
                or (organisation_id = $org and subject_kind = 'pupil_contact' and subject_id in (
                    select contact_id from raw.pupil_contacts
                    where organisation_id = $org and pupil_id = $pupil))
                or (organisation_id = $org and subject_kind = 'correspondence'
                    and subject_id in (
                        select correspondence_id from raw.correspondence
                        where organisation_id = $org and (
                            (subject_kind = 'pupil' and subject_id = $pupil)
                            or (subject_kind = 'contact' and subject_id in (
                                select contact_id from raw.pupil_contacts
                                where organisation_id = $org and pupil_id = $pupil))))))""",
        {"held_org": held_org, "org": org, "pupil": pupil},
    )[0][0]
    assert (
        read(
            wh,
            "select count(*) from retention.retention_plan where organisation_id = ? "
            "and subject_id = ?",
            [org, pupil],
        )[0][0]
        > 0
    ), "the plan predates the hold"
    before = snapshot(wh, tmp_path / "before.duckdb")
    code, out, err = run_cli("retention", "apply", "--as-of", AS_OF.isoformat(), "--no-build")
    assert code == 0, err
    assert f"{covered:,} planned subject(s) are under a standing legal hold and were skipped" in out
    assert read(
        wh, "select outcome, rows_affected > 0 from audit.retention_runs where not is_dry_run"
    ) == [("applied", True)]
    # nothing of the held pupil or its contacts changed, nothing of the held organisation
    assert read(
        wh,
        "select upn is not null, anonymised_on from raw.pupils "
        "where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(True, None)]
    for table in (f"raw.{f.name}" for f in LANDING_FILES):
        gone, _ = changed_rows(before, wh, table)
        columns = FILES_BY_NAME[table.removeprefix("raw.")].column_names
        rows = [dict(zip(columns, row)) for row in gone]
        assert not [r for r in rows if r["organisation_id"] == held_org], f"{table} of held org"
        assert not [
            r
            for r in rows
            if r["organisation_id"] == org and pupil in (r.get("pupil_id"), r.get("subject_id"))
        ], f"{table} of the held pupil changed"
    # the standing hold still names its pupil (it is not re-pointed at a surrogate)
    assert read(
        wh,
        "select organisation_id, subject_id from audit.legal_holds "
        "where subject_kind = 'pupil' and released_at is null",
    ) == [(org, pupil)]
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where organisation_id = ?", [held_org]
    ) == [(0,)]


def test_reload_after_apply_resurrects_nothing(applied: AppliedRun, after_apply: Path):
    planned = read(
        applied.before,
        "select distinct organisation_id, subject_kind, subject_id from retention.retention_plan",
    )
    result = load_extract(applied.extract)
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
        back = [
            (kind, org, subject)
            for org, kind, subject in planned
            if con.execute(lookups[kind], [org, subject]).fetchone()[0]
        ]
        children = con.execute(
            "select count(*) from raw.attendance_sessions a semi join "
            "(select unnest(?) as organisation_id, unnest(?) as pupil_id) p "
            "using (organisation_id, pupil_id)",
            [
                [o for o, k, _ in planned if k == "pupil"],
                [s for _, k, s in planned if k == "pupil"],
            ],
        ).fetchone()[0]
    finally:
        con.close()
    assert back == []
    assert children == 0


def test_apply_without_a_secret_refuses_before_changing_anything(
    wh: Path, tmp_path: Path, monkeypatch
):
    before = snapshot(wh, tmp_path / "before.duckdb")
    monkeypatch.delenv(secret.SECRET_ENV)
    with pytest.raises(Exception, match="TINYTRACKER_SECRET"):
        tasks.apply_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
