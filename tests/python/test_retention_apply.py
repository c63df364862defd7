"""One real retention apply on a loaded synthetic trust changes exactly what it planned.

The apply (the session's ``applied`` fixture, conftest.py) runs on a copy of the synthetic
warehouse reloaded from the same extract with a column beyond the contract in every file an
anonymise step touches (an NHS number, a home address, ...), after a dry run for a simulated
date through the CLI. Comparisons are made table by table against a copy taken before the
run, so "changes exactly the plan" is checked on every raw row, not on counts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pytest

from tinytracker.core import paths, policy
from tinytracker.core.contract import LANDING_FILES
from tinytracker.erasure.result import action_date
from tinytracker.erasure.transaction import DRY_RUN_SCHEMA
from tinytracker.retention.output import format_result

from apply_helpers import AS_OF, changed_rows
from conftest import (
    EXTRA_COLUMNS,
    SIMULATED_AS_OF,
    AppliedRun,
    SyntheticTemplate,
    read,
)


@pytest.fixture
def template(synthetic_template: SyntheticTemplate) -> SyntheticTemplate:
    return synthetic_template


# The surrogate ids of the people an apply anonymised, with the rule that did it
ANONYMISED_PEOPLE = {
    "pupil": "select organisation_id, pupil_id as surrogate_id, anonymised_by_rule_id as rule_id "
    "from raw.pupils where anonymised_on is not null",
    "employee": "select organisation_id, employee_id as surrogate_id, "
    "anonymised_by_rule_id as rule_id from raw.employees "
    "where anonymised_on is not null",
}


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
    manifest = json.loads((applied.target / "manifest.json").read_text())
    assert manifest["nodes"]["model.tinytracker.retention_plan"]["schema"] == "retention"
    dry_manifest = json.loads((applied.target / DRY_RUN_SCHEMA / "manifest.json").read_text())
    assert dry_manifest["nodes"]["model.tinytracker.retention_plan"]["schema"] == (DRY_RUN_SCHEMA)


def test_the_apply_drops_the_dry_run_copy_that_names_erased_subjects(applied: AppliedRun):
    assert read(
        applied.after,
        "select count(*) from information_schema.schemata where schema_name = ?",
        [DRY_RUN_SCHEMA],
    ) == [(0,)]
