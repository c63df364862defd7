"""One transaction per run: every statement, the suppression list and the audit rows.

Killed at any moment, the warehouse is as before the run or as after it. The statements run in
:data:`.plan.EXECUTION_ORDER`, so a row two steps reach is changed, and counted, by the first
(exactly as the plan counted it). ``audit.retention_log`` gets one row per rule and table
(counts only) and ``audit.retention_runs`` one row per run, dry runs included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from tinytracker.core import faults, progress
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.schema import ensure_schema
from tinytracker.core.secret import bind_secret
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import cohort, ledger, suppression
from tinytracker.erasure.derived import delete_derived_rows
from tinytracker.erasure.plan import EXECUTION_ORDER
from tinytracker.erasure.result import RunResult, StepResult
from tinytracker.erasure.statements import statement
from tinytracker.erasure.steps import PLAN_SCHEMA, plan_relation

DRY_RUN_SCHEMA = "retention_dry_run"
"""A dry run's own copy of the retention models (dbt var retention_schema, see
macros/generate_schema_name.sql), so the DPO's ``retention.*`` relations keep the real date."""


def _nothing_after_statement(statement_number: int) -> None:
    """The default: nothing runs between two statements."""


after_statement: Callable[[int], None] = _nothing_after_statement
"""Called after every statement of an apply; fault-injection tests replace it to kill a run
part-way."""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The tables a run writes, and the one-off migration of a suppression list written
    before ``surrogate_id`` could be null (such a list linked every anonymised subject's
    token to their kept rows: the constraint goes and those surrogates are cleared, in the
    warehouse and in the ledger)."""
    ensure_schema(con)
    linked = scalar(
        con,
        "select count(*) from duckdb_columns() where schema_name = 'audit' "
        "and table_name = 'erasure_suppressions' and column_name = 'surrogate_id' "
        "and not is_nullable",
    )
    if linked:
        con.execute(
            "alter table audit.erasure_suppressions alter column surrogate_id drop not null"
        )
        suppression.unlink_anonymised(con)
        ledger.scrub_ledger(con)


def log_run(
    con: duckdb.DuckDBPyConnection, result: RunResult, started_at: dt.datetime, requested_by: str
) -> None:
    """The run's audit rows: one per rule and table in retention_log, one in retention_runs."""
    finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if result.steps:
        con.executemany(
            "insert into audit.retention_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    result.run_id,
                    result.as_of,
                    step.rule_id,
                    step.table_name,
                    step.action,
                    step.rows,
                    result.dry_run,
                    started_at,
                    finished_at,
                    None if result.dry_run else result.backups_clear_on,
                    requested_by,
                )
                for step in result.steps
            ],
        )
    con.execute(
        "insert into audit.retention_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
        [
            result.run_id,
            result.as_of,
            result.dry_run,
            requested_by,
            result.outcome,
            result.subjects,
            result.rows,
            started_at,
            finished_at,
            None if result.dry_run or not result.steps else result.backups_clear_on,
        ],
    )


def execute_steps(
    con: duckdb.DuckDBPyConnection, result: RunResult, *, record_suppressions: bool = True
) -> None:
    """Inside the caller's transaction: one statement per group of ``run_steps``.

    Also points released legal holds at the surrogate and, for new erasures, adds the
    subjects to audit.erasure_suppressions so no later extract brings them back.
    """
    duplicated = scalar(
        con,
        "select count(*) from (select organisation_id, subject_kind, subject_id "
        "from run_subjects group by all having count(*) > 1)",
    )
    if duplicated:
        raise TinyTrackerError(
            f"{duplicated} subjects are planned under two rules; the plan must anonymise "
            "each subject once (rebuild it)"
        )
    groups = con.execute(
        f"""
        select rule_id, step, table_name, action, key_column, rekey_column, columns_to_clear,
               count(distinct (organisation_id, subject_id))
        from run_steps
        group by all
        order by {", ".join(EXECUTION_ORDER)}, columns_to_clear
        """
    ).fetchall()
    cohort.record_birth_cohorts(con)  # what anonymisation keeps of a date of birth
    capture_erased_values(con)  # before the statements clear them
    if record_suppressions:
        suppression.capture_identifiers(con)  # before the statements clear them
    per_table: dict[tuple[str, str, str], list[int]] = {}
    verb = "planning" if result.dry_run else "applying"
    with progress.task(f"{verb} {len(groups)} step(s)", total=len(groups), unit="steps") as shown:
        for number, (
            rule_id,
            step,
            table,
            action,
            key_column,
            rekey_column,
            clear,
            subjects,
        ) in enumerate(groups, start=1):
            shown.advance(0, f"{verb}: {rule_id}, {action} in {table}")
            columns = [c.strip() for c in clear.split(",") if c.strip()] if clear else []
            sql, stamps_date = statement(table, action, key_column, rekey_column, columns)
            params = [rule_id, step, clear] + ([result.actioned_on] if stamps_date else [])
            affected = scalar(con, sql, params)
            totals = per_table.setdefault((rule_id, table, action), [0, 0])
            totals[0] += int(subjects)
            totals[1] += int(affected)
            after_statement(number)
            faults.reached("erasure.statement")
            shown.advance(1)
    result.steps += [
        StepResult(rule, table, action, subjects, rows)
        for (rule, table, action), (subjects, rows) in per_table.items()
    ]
    result.subjects = scalar(con, "select count(*) from run_subjects")
    if record_suppressions:
        suppression.record_subjects(con, result.actioned_on, result.run_id)
    # a released hold still names its subject: point it at the surrogate instead
    con.execute(
        """
        update audit.legal_holds as hold set subject_id = run_subjects.surrogate_id
        from run_subjects
        where hold.organisation_id = run_subjects.organisation_id
            and hold.subject_kind = run_subjects.subject_kind
            and hold.subject_id = run_subjects.subject_id
        """
    )
    # a built plan names the erased subjects: empty it now, dbt rebuilds it next; a dry
    # run's plan names them too and nothing rebuilds it, so it goes
    con.execute(f"delete from {plan_relation(PLAN_SCHEMA)}")
    con.execute(f"drop schema if exists {DRY_RUN_SCHEMA} cascade")


ERASED_VALUE_COLUMNS = {
    "pupil": ("raw.pupils", "pupil_id", ("upn", "email", "phone", "address")),
    "pupil_contact": ("raw.pupil_contacts", "contact_id", ("email", "phone", "address")),
    "employee": ("raw.employees", "employee_id", ("email", "phone", "teacher_number")),
}
"""Per kind: the values the byte scan after an erasure looks for (strings long enough to be
specific; a name alone is shared by too many people to prove anything)."""


def capture_erased_values(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table ``run_erased_values``: identifying values of the run's people, read before
    the statements clear them."""
    selects = [
        f"select unnest([{', '.join(f'person.{c}' for c in columns)}]) as value "
        f"from run_subjects inner join {table} as person "
        f"on person.organisation_id = run_subjects.organisation_id "
        f"and person.{key} = run_subjects.subject_id "
        f"where run_subjects.subject_kind = '{kind}'"
        for kind, (table, key, columns) in ERASED_VALUE_COLUMNS.items()
    ]
    con.execute(
        "create or replace temp table run_erased_values as select distinct value from ("
        + " union all ".join(selects)
        + ") where length(value) >= 6"
    )


def values_nobody_kept(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The captured values that no row kept after the run holds (a household's shared phone
    or address stays legitimately): what must be gone from the file's bytes."""
    kept = " union all ".join(
        f"select unnest([{', '.join(columns)}]) from {table}"
        for table, _, columns in ERASED_VALUE_COLUMNS.values()
    )
    rows = con.execute(
        f"select value from run_erased_values except select * from ({kept}) order by 1"
    ).fetchall()
    return [str(value) for (value,) in rows]


def apply_in_transaction(
    con: duckdb.DuckDBPyConnection,
    result: RunResult,
    prepare: Callable[[], None],
    requested_by: str,
    *,
    record_suppressions: bool = True,
    derived_rows: bool = False,
) -> None:
    """Prepare ``run_subjects``/``run_steps``, execute and log them: all or nothing.

    ``derived_rows`` also deletes the subjects' rows from the derived tables in the same
    transaction (:mod:`tinytracker.erasure.derived`: an erasure request, whose full rebuild
    waits for the nightly run)."""
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    bind_secret(con)
    con.execute("begin transaction")
    try:
        prepare()
        execute_steps(con, result, record_suppressions=record_suppressions)
        if derived_rows:
            result.derived_rows_deleted = delete_derived_rows(con)
        log_run(con, result, started_at, requested_by)
        faults.reached("erasure.before_commit")
        con.execute("commit")
        faults.reached("erasure.committed")
        result.erased_values = values_nobody_kept(con)
    except BaseException:
        con.execute("rollback")
        raise


def dry_run_in_transaction(
    con: duckdb.DuckDBPyConnection, result: RunResult, prepare: Callable[[], None]
) -> None:
    """Execute the statements and roll them back: exactly what an apply would change."""
    con.execute("begin transaction")
    try:
        prepare()
        execute_steps(con, result, record_suppressions=False)
    finally:
        con.execute("rollback")
