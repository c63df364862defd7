"""retention_plan logic (tinytracker/erasure/plan.py) on a small in-memory DuckDB.

dbt unit tests do not run on Python models, so the plan's rules are pinned here: only due
statuses under the winning rule are planned, every table of the mapping seed is touched where
the subject has rows, and an employee's name is cleared only when no report shows it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tinytracker.core import paths, schema
from tinytracker.erasure.plan import (
    PLAN_COLUMNS,
    build_retention_plan,
    key_expression,
    statuses_as_of,
)

AS_OF = dt.date(2025, 10, 1)
ACTIONS_CSV = paths.SEEDS_DIR / "policy" / "retention_actions.csv"


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    schema.ensure_schema(connection)
    connection.execute("""
        insert into raw.pupils (organisation_id, pupil_id, forename) values
            ('O1', 'P-DUE', 'Ada'), ('O1', 'P-HELD', 'Bo'), ('O1', 'P-RETAINED', 'Cy'),
            ('O2', 'P-DUE', 'Di');
        insert into raw.attendance_sessions (organisation_id, pupil_id, session_date, session, mark)
            values ('O1', 'P-DUE', date '2023-07-03', 'AM', '/'),
                   ('O1', 'P-DUE', date '2023-07-03', 'PM', '/'),
                   ('O2', 'P-DUE', date '2023-07-03', 'AM', '/');
        insert into raw.pupil_contacts (organisation_id, contact_id, pupil_id) values
            ('O1', 'C-1', 'P-DUE'), ('O1', 'C-2', 'P-HELD');
        insert into raw.quarantine (load_id, file_name, rule, organisation_id, raw_values,
                                    quarantined_at)
            values ('L1', 'assessments.csv', 'unknown_code', 'O1',
                    '{"pupil_id": " P-DUE ", "result": "?"}', timestamp '2024-01-01 00:00'),
                   ('L1', 'assessments.csv', 'unknown_code', 'O2',
                    '{"pupil_id": "P-OTHER"}', timestamp '2024-01-01 00:00');
        insert into raw.employees (organisation_id, employee_id, forename) values
            ('O1', 'E-AUTHOR', 'Jo'), ('O1', 'E-PLAIN', 'Kim');
        insert into raw.reports (organisation_id, report_id, pupil_id, author_employee_id)
            values ('O1', 'R-1', 'P-RETAINED', 'E-AUTHOR');
    """)
    return connection


def statuses(con: duckdb.DuckDBPyConnection, rows: str) -> duckdb.DuckDBPyRelation:
    return con.sql(f"""
        select organisation_id, subject_kind, subject_id, rule_id, status, is_winning_rule,
               cast(due_on as date) as due_on
        from (values {rows}) as s(organisation_id, subject_kind, subject_id, rule_id, status,
                                  is_winning_rule, due_on)
    """)


def plan_rows(con: duckdb.DuckDBPyConnection, status_rows: str) -> list[dict[str, object]]:
    tables = {
        name: con.table(name)
        for name in (
            "raw.pupils",
            "raw.pupil_contacts",
            "raw.attendance_sessions",
            "raw.assessments",
            "raw.sen_records",
            "raw.reports",
            "raw.employees",
            "raw.correspondence",
            "raw.setup_imports",
            "raw.quarantine",
        )
    }
    plan = build_retention_plan(
        statuses=statuses(con, status_rows),
        actions=con.read_csv(str(ACTIONS_CSV), all_varchar=True).project(
            "* replace (cast(step as integer) as step)"
        ),
        tables=tables,
        as_of=AS_OF,
    )
    assert tuple(plan.columns) == PLAN_COLUMNS
    return plan.to_dicts()


def test_only_due_subjects_under_their_winning_rule_are_planned(con):
    rows = plan_rows(
        con,
        """
        ('O1', 'pupil', 'P-DUE', 'left_pupils_2_academic_years', 'due', true, '2025-09-01'),
        ('O1', 'pupil', 'P-DUE', 'pupils_2y_after_contract', 'due', false, '2025-09-15'),
        ('O1', 'pupil', 'P-HELD', 'left_pupils_2_academic_years', 'on_hold', true, '2024-09-01'),
        ('O1', 'pupil', 'P-HELD-LATER', 'left_pupils_2_academic_years', 'on_hold', true,
         '2026-09-01'),
        ('O1', 'pupil', 'P-HELD-NO-TRIGGER', 'left_pupils_2_academic_years', 'on_hold', true,
         null),
        ('O1', 'pupil', 'P-RETAINED', 'left_pupils_2_academic_years', 'retained', true, null)
    """,
    )
    assert {(r["subject_id"], r["rule_id"]) for r in rows} == {
        ("P-DUE", "left_pupils_2_academic_years")
    }
    assert {r["as_of"] for r in rows} == {AS_OF}
    assert {r["due_on"] for r in rows} == {dt.date(2025, 9, 1)}


def test_pupil_anonymisation_touches_each_table_where_the_pupil_has_rows(con):
    rows = plan_rows(
        con,
        """
        ('O1', 'pupil', 'P-DUE', 'left_pupils_2_academic_years', 'due', true, '2025-09-01')
    """,
    )
    by_table = {r["table_name"]: r for r in rows}
    # no assessments, SEN records or reports for this pupil: nothing to do there
    assert set(by_table) == {
        "raw.pupils",
        "raw.attendance_sessions",
        "raw.pupil_contacts",
        "raw.quarantine",
    }
    pupils = by_table["raw.pupils"]
    assert (pupils["action"], pupils["rekey_column"], pupils["row_count"]) == (
        "anonymise",
        "pupil_id",
        1,
    )
    assert pupils["columns_to_clear"].split(",") == [
        "upn",
        "forename",
        "surname",
        "date_of_birth",
        "address",
        "postcode",
        "email",
        "phone",
        "_extra",
    ]
    attendance = by_table["raw.attendance_sessions"]
    # O2's row for a pupil with the same MIS id is not counted
    assert (attendance["row_count"], attendance["columns_to_clear"]) == (2, "_extra")
    contacts = by_table["raw.pupil_contacts"]
    assert (contacts["action"], contacts["key_column"], contacts["columns_to_clear"]) == (
        "delete",
        "pupil_id",
        None,
    )
    quarantine = by_table["raw.quarantine"]
    assert (quarantine["key_column"], quarantine["row_count"]) == ("raw_values.pupil_id", 1)


def test_employee_named_on_a_report_keeps_name_others_lose_it(con):
    rows = plan_rows(
        con,
        """
        ('O1', 'employee', 'E-AUTHOR', 'employees_1m_after_leaving', 'due', true, '2025-02-28'),
        ('O1', 'employee', 'E-PLAIN', 'employees_1m_after_leaving', 'due', true, '2025-02-28')
    """,
    )
    employees = {r["subject_id"]: r for r in rows if r["table_name"] == "raw.employees"}
    assert employees["E-AUTHOR"]["columns_to_clear"] == (
        "email,phone,gender,teacher_number,role,_extra"
    )
    assert employees["E-PLAIN"]["columns_to_clear"] == (
        "email,phone,gender,teacher_number,role,_extra,forename,surname"
    )
    reports = [r for r in rows if r["table_name"] == "raw.reports"]
    assert [(r["subject_id"], r["key_column"], r["rekey_column"]) for r in reports] == [
        ("E-AUTHOR", "author_employee_id", "author_employee_id")
    ]


def test_a_row_two_due_subjects_reach_is_planned_once_under_the_first_step(con):
    """Contact C-1 is due under the contacts rule and its pupil P-DUE under a pupil rule: both
    rules delete the contact row (contacts step 1, pupil step 6). It is planned once, under
    the step that runs first (EXECUTION_ORDER: step, then rule), and the pupil's step 6, left
    with no row, is not planned. The quarantined row naming both is counted once too."""
    con.execute("""
        insert into raw.quarantine (load_id, file_name, rule, organisation_id, raw_values,
                                    quarantined_at)
        values ('L1', 'pupil_contacts.csv', 'bad_priority', 'O1',
                '{"contact_id": "C-1", "pupil_id": "P-DUE", "priority": "x"}',
                timestamp '2024-01-01 00:00')
    """)
    rows = plan_rows(
        con,
        """
        ('O1', 'pupil', 'P-DUE', 'left_pupils_2_academic_years', 'due', true, '2025-09-01'),
        ('O1', 'pupil_contact', 'C-1', 'contacts_6m_after_removal', 'due', true, '2024-02-29')
    """,
    )
    by_step = {(r["rule_id"], r["table_name"]): r["row_count"] for r in rows}
    assert by_step[("contacts_6m_after_removal", "raw.pupil_contacts")] == 1
    assert ("left_pupils_2_academic_years", "raw.pupil_contacts") not in by_step
    # quarantine: the contact's step 2 runs before the pupil's step 7 and takes the shared row
    assert by_step[("contacts_6m_after_removal", "raw.quarantine")] == 1
    assert by_step[("left_pupils_2_academic_years", "raw.quarantine")] == 1  # its own row
    total = sum(r["row_count"] for r in rows if r["action"] == "delete")
    deletable = con.execute("""
        select (select count(*) from raw.pupil_contacts
                where organisation_id = 'O1' and (contact_id = 'C-1' or pupil_id = 'P-DUE'))
             + (select count(*) from raw.quarantine where organisation_id = 'O1' and (
                    trim(json_extract_string(raw_values, '$.pupil_id')) = 'P-DUE'
                    or trim(json_extract_string(raw_values, '$.contact_id')) = 'C-1'))
    """).fetchone()[0]
    assert total == deletable  # every row the deletes reach, each once


def test_planning_materializes_the_due_subjects_when_given_the_connection(con):
    """The dbt model passes its session: the statuses (a chain of views there) are read once."""
    tables = {
        name: con.table(name)
        for name in (
            "raw.pupils",
            "raw.pupil_contacts",
            "raw.attendance_sessions",
            "raw.assessments",
            "raw.sen_records",
            "raw.reports",
            "raw.employees",
            "raw.correspondence",
            "raw.setup_imports",
            "raw.quarantine",
        )
    }
    actions = con.read_csv(str(ACTIONS_CSV), all_varchar=True).project(
        "* replace (cast(step as integer) as step)"
    )
    status_rows = (
        "('O1', 'pupil', 'P-DUE', 'left_pupils_2_academic_years', 'due', true, '2025-09-01')"
    )
    with_con = build_retention_plan(
        statuses(con, status_rows), actions, tables, AS_OF, con=con
    ).to_dicts()
    without = build_retention_plan(statuses(con, status_rows), actions, tables, AS_OF).to_dicts()
    assert with_con == without and with_con
    assert con.execute("select count(*) from tt_plan_due").fetchone()[0] == 1


def test_json_member_keys_read_the_quarantined_raw_values():
    assert key_expression("pupil_id") == "pupil_id"
    assert key_expression("raw_values.pupil_id") == (
        "trim(json_extract_string(raw_values, '$.pupil_id'))"
    )


def test_mapping_naming_a_table_the_model_does_not_read_is_refused(con):
    actions = con.sql(
        "select 'r' as rule_id, 1 as step, 'pupil' as subject_kind, "
        "'raw.unknown' as table_name, 'pupil_id' as key_column"
    )
    with pytest.raises(KeyError, match="raw.unknown"):
        build_retention_plan(
            statuses(con, "('O1','pupil','P','r','due',true,'2025-01-01')"),
            actions,
            {"raw.reports": con.table("raw.reports")},
            AS_OF,
        )


def test_the_plan_is_dated_by_the_statuses_it_was_built_from(con):
    """The plan takes its date from retention_status (compiled with the run's as_of), so a
    new date needs no re-parse and plan and statuses can never disagree."""
    built = con.sql("select date '2025-10-01' as as_of union all select date '2025-10-01'")
    assert statuses_as_of(built, con) == AS_OF
    today = con.execute("select current_date").fetchall()[0][0]
    empty = con.sql("select date '2025-10-01' as as_of where false")
    assert statuses_as_of(empty, con) == today
