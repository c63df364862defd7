"""Plan and apply a retention run: the only code that deletes or anonymises source data.

A run executes ``retention.retention_plan`` (built by dbt for the run's ``as_of``) exactly:

- one transaction for the whole run, one set-based statement per rule, step and table, so a
  run killed at any moment leaves the warehouse as before it or as after it;
- every subject gets one random surrogate (never derived from an identifier), used in every
  table it is re-keyed in; ``audit.erasure_suppressions`` gets the subject's keyed token, which
  stops a later extract bringing it back, but not that surrogate (orchestration/rights/
  suppression.py says why and the one exception);
- ``audit.retention_log`` gets one row per rule and table (counts only) and
  ``audit.retention_runs`` one row per run, dry runs included;
- after the commit, dbt rebuilds everything derived (the executed plan, the marts' key map)
  and the warehouse file is rewritten (:func:`orchestration.storage.rebuild`) so that no
  erased value survives in its bytes. A run interrupted between the commit and the rewrite is
  finished by the next run before it does anything else.

Nothing here touches a row the plan does not name; the plan names only what a rule made due.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration import storage, warehouse
from orchestration.dbt_runner import parse_as_of, run_dbt
from orchestration.errors import TinyTrackerError
from orchestration.retention.planning import key_expression
from orchestration.rights import suppression

BACKUPS_KEPT_DAYS = 90
ANONYMISED_TABLES = {f"raw.{name}" for name in warehouse.ANONYMISED_TABLES}
PLAN_RELATION = "retention.retention_plan"
# Everything a retention run reads or writes, so a plan can be refreshed for a date without
# building the marts; the full build after an apply refreshes the rest.
PLAN_SELECTORS = ("+retention_plan", "+retention_status")

RUNS_DDL = """create table if not exists audit.retention_runs (
    run_id varchar not null,
    as_of date not null,
    is_dry_run boolean not null,
    requested_by varchar not null,
    outcome varchar not null,
    subjects_affected bigint not null,
    rows_affected bigint not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    backups_clear_on date,
    physically_erased_at timestamp
)"""


@dataclass(frozen=True)
class StepResult:
    """What one statement did (or would do): counts only, never an identifier."""

    rule_id: str
    table_name: str
    action: str
    subjects: int
    rows: int


@dataclass
class RunResult:
    run_id: str
    as_of: dt.date
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    subjects: int = 0
    physically_erased: bool = False

    @property
    def rows(self) -> int:
        return sum(step.rows for step in self.steps)

    @property
    def backups_clear_on(self) -> dt.date:
        return self.as_of + dt.timedelta(days=BACKUPS_KEPT_DAYS)

    @property
    def outcome(self) -> str:
        if not self.steps:
            return "nothing_due"
        return "planned" if self.dry_run else "applied"


# Called after every statement of an apply; tests replace it to kill a run part-way.
after_statement: Callable[[int], None] = lambda statement_number: None


def ensure_run_tables(con: duckdb.DuckDBPyConnection) -> None:
    warehouse.ensure_schema(con)
    con.execute(RUNS_DDL)


def _plan_as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    try:
        rows = con.execute(f"select distinct as_of from {PLAN_RELATION}").fetchall()
    except duckdb.CatalogException:
        raise TinyTrackerError(
            f"{PLAN_RELATION} does not exist: build the retention models first "
            "(tinytracker build --as-of DATE)"
        ) from None
    if len(rows) > 1:
        raise TinyTrackerError(f"{PLAN_RELATION} mixes several as_of dates; rebuild it")
    return rows[0][0] if rows else None


def summarise_plan(con: duckdb.DuckDBPyConnection) -> list[StepResult]:
    """Per rule and table: subjects and rows the plan would delete or anonymise."""
    rows = con.execute(
        f"""
        select rule_id, table_name, action, count(distinct (organisation_id, subject_id)),
            sum(row_count)
        from {PLAN_RELATION}
        group by rule_id, table_name, action
        order by rule_id, min(step)
        """
    ).fetchall()
    return [StepResult(rule, table, action, int(subjects), int(total))
            for rule, table, action, subjects, total in rows]


def _statement(table: str, action: str, key_column: str, rekey_column: str | None,
               columns_to_clear: Sequence[str]) -> str:
    """One set-based statement for one (rule, step, columns) group of the plan.

    ``run_steps`` (a temp table: the plan rows joined to each subject's surrogate) is filtered
    to the group by the parameters ``rule_id, step, columns_to_clear`` ($1, $2, $3).
    """
    target_key = key_expression(key_column, table_alias="target")
    group = (
        "run_steps.rule_id = $1 and run_steps.step = $2 "
        "and run_steps.columns_to_clear is not distinct from $3"
    )
    match = (
        f"target.organisation_id = run_steps.organisation_id "
        f"and {target_key} = run_steps.subject_id and {group}"
    )
    if action == "delete":
        return f"delete from {table} as target using run_steps where {match}"
    if action != "anonymise":
        raise TinyTrackerError(f"retention plan has unknown action {action!r} for {table}")
    assignments = [f"{column} = null" for column in columns_to_clear]
    if rekey_column:
        assignments.append(f"{rekey_column} = run_steps.surrogate_id")
    if table in ANONYMISED_TABLES:
        assignments += ["anonymised_on = run_steps.as_of",
                        "anonymised_by_rule_id = run_steps.rule_id"]
    if not assignments:
        raise TinyTrackerError(f"retention plan step on {table} changes no column")
    return f"update {table} as target set {', '.join(assignments)} from run_steps where {match}"


def _log_steps(con: duckdb.DuckDBPyConnection, result: RunResult, started_at: dt.datetime,
               requested_by: str) -> None:
    finished_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    if result.steps:
        con.executemany(
            "insert into audit.retention_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (result.run_id, result.as_of, step.rule_id, step.table_name, step.action,
                 step.rows, result.dry_run, started_at, finished_at,
                 None if result.dry_run else result.backups_clear_on, requested_by)
                for step in result.steps
            ],
        )
    con.execute(
        "insert into audit.retention_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
        [result.run_id, result.as_of, result.dry_run, requested_by, result.outcome,
         result.subjects, result.rows, started_at, finished_at,
         None if result.dry_run or not result.steps else result.backups_clear_on],
    )


def _steps_from_plan(con: duckdb.DuckDBPyConnection) -> None:
    """``run_subjects`` / ``run_steps`` from retention.retention_plan, one new surrogate each."""
    con.execute(
        f"""
        create or replace temp table run_subjects as
        select
            organisation_id, subject_kind, subject_id, rule_id,
            cast(gen_random_uuid() as varchar) as surrogate_id
        from (select distinct organisation_id, subject_kind, subject_id, rule_id
              from {PLAN_RELATION})
        """
    )
    con.execute(
        f"""
        create or replace temp table run_steps as
        select plan.*, run_subjects.surrogate_id
        from {PLAN_RELATION} as plan
        inner join run_subjects using (organisation_id, subject_kind, subject_id, rule_id)
        """
    )


def steps_from_subjects(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """``run_steps`` for the subjects in temp table ``run_subjects``, by the action mapping.

    ``run_subjects`` (organisation_id, subject_kind, subject_id, rule_id, surrogate_id) comes
    from outside the plan: an erasure request, or erased subjects found again in a restored
    backup. Each subject takes the steps of its own rule, or, where ``rule_id`` is not a
    retention rule (an erasure request), of its kind's first rule, so every erasure goes
    through the same mapping (seeds/policy/retention_actions.csv) as a scheduled run.
    """
    con.execute(
        """
        create or replace temp table run_steps as
        with kind_rule as (
            select subject_kind, arg_min(rule_id, tie_break_rank) as mapping_rule_id
            from retention.retention_rules
            group by subject_kind
        ),
        subjects as (
            select
                run_subjects.*,
                coalesce(rules.rule_id, kind_rule.mapping_rule_id) as mapping_rule_id
            from run_subjects
            left join retention.retention_rules as rules on run_subjects.rule_id = rules.rule_id
            left join kind_rule on run_subjects.subject_kind = kind_rule.subject_kind
        ),
        authors as (
            select distinct organisation_id, author_employee_id as employee_id
            from raw.reports where author_employee_id is not null
        )
        select
            subjects.organisation_id,
            subjects.rule_id,
            subjects.subject_kind,
            subjects.subject_id,
            actions.step,
            actions.operation as action,
            actions.table_name,
            actions.key_column,
            nullif(actions.rekey_column, '') as rekey_column,
            nullif(concat_ws(',',
                nullif(actions.columns_to_clear, ''),
                case when authors.employee_id is null
                    then nullif(actions.columns_to_clear_unless_report_author, '') end
            ), '') as columns_to_clear,
            cast(null as bigint) as row_count,
            cast(null as date) as due_on,
            cast(? as date) as as_of,
            subjects.surrogate_id
        from subjects
        inner join retention.retention_actions as actions
            on subjects.mapping_rule_id = actions.rule_id
        left join authors
            on subjects.subject_kind = 'employee'
            and authors.organisation_id = subjects.organisation_id
            and authors.employee_id = subjects.subject_id
        """,
        [as_of],
    )


def execute_steps(con: duckdb.DuckDBPyConnection, result: RunResult, *,
                  record_suppressions: bool = True) -> None:
    """Inside the caller's transaction: one statement per group of ``run_steps``.

    Also points released legal holds at the surrogate and, for new erasures, adds the
    subjects to audit.erasure_suppressions so no later extract brings them back.
    """
    duplicated = con.execute(
        "select count(*) from (select organisation_id, subject_kind, subject_id "
        "from run_subjects group by all having count(*) > 1)"
    ).fetchone()[0]
    if duplicated:
        raise TinyTrackerError(
            f"{duplicated} subjects are planned under two rules; the plan must anonymise "
            "each subject once (rebuild it)"
        )
    groups = con.execute(
        """
        select rule_id, step, table_name, action, key_column, rekey_column, columns_to_clear,
               count(distinct (organisation_id, subject_id))
        from run_steps
        group by all
        order by rule_id, step, columns_to_clear
        """
    ).fetchall()
    if record_suppressions:
        suppression.capture_identifiers(con)  # before the statements clear them
    per_table: dict[tuple[str, str, str], list[int]] = {}
    for number, (rule_id, step, table, action, key_column, rekey_column, clear, subjects) \
            in enumerate(groups, start=1):
        columns = [c.strip() for c in clear.split(",") if c.strip()] if clear else []
        sql = _statement(table, action, key_column, rekey_column, columns)
        affected = con.execute(sql, [rule_id, step, clear]).fetchone()[0]
        totals = per_table.setdefault((rule_id, table, action), [0, 0])
        totals[0] += int(subjects)
        totals[1] += int(affected)
        after_statement(number)
    result.steps += [StepResult(rule, table, action, subjects, rows)
                    for (rule, table, action), (subjects, rows) in per_table.items()]
    result.subjects = con.execute("select count(*) from run_subjects").fetchone()[0]
    if record_suppressions:
        suppression.record_subjects(con, result.as_of, result.run_id)
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
    # a built plan names the erased subjects: empty it now, dbt rebuilds it next
    con.execute(f"delete from {PLAN_RELATION}")


def apply_in_transaction(con: duckdb.DuckDBPyConnection, result: RunResult,
                         prepare: Callable[[], None], requested_by: str, *,
                         record_suppressions: bool = True) -> None:
    """Prepare ``run_subjects``/``run_steps``, execute and log them: all or nothing."""
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    warehouse.bind_secret(con)
    con.execute("begin transaction")
    try:
        prepare()
        execute_steps(con, result, record_suppressions=record_suppressions)
        _log_steps(con, result, started_at, requested_by)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


LEDGER_TABLES = ("erasure_suppressions", "erasure_identifiers", "retention_log", "retention_runs")


def ledger_dir() -> Path:
    """Copies of each applied run's audit rows, beside the backups but never pruned.

    If the warehouse file itself is lost, a restore from a backup still knows every erasure
    made since that backup (tokens and counts only: no plain identifier is written here).
    """
    return storage.backup_dir() / "erasure-ledger"


def sync_ledger(con: duckdb.DuckDBPyConnection) -> int:
    """Write the ledger files of applied runs that have none yet; returns how many runs."""
    directory = ledger_dir()
    runs = [str(run_id) for (run_id,) in con.execute(
        "select run_id from audit.retention_runs where not is_dry_run and outcome = 'applied'"
    ).fetchall()]
    written = 0
    for run_id in runs:
        uuid.UUID(run_id)  # run ids are uuids we made; never interpolate anything else
        if all((directory / f"{run_id}.{table}.parquet").exists() for table in LEDGER_TABLES):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        for table in LEDGER_TABLES:
            target = directory / f"{run_id}.{table}.parquet"
            pending = target.with_name(target.name + ".partial")
            con.execute(
                f"copy (select * from audit.{table} where run_id = '{run_id}') "
                f"to '{pending}' (format parquet)"
            )
            os.replace(pending, target)
        written += 1
    return written


def _pending_physical_erasure(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute(
        "select run_id from audit.retention_runs where outcome = 'applied' "
        "and not is_dry_run and physically_erased_at is null order by started_at"
    ).fetchall()]


def finish_physical_erasure(as_of: dt.date | None, db: Path | None = None) -> bool:
    """Rebuild derived models and rewrite the file for runs whose erasure is not yet physical.

    Returns True when there was something to finish. Called after every apply and, first
    thing, by the next run (a kill between commit and rewrite must not leave erased bytes).
    """
    db = db or warehouse.db_path()
    con = warehouse.connect(db)
    try:
        ensure_run_tables(con)
        pending = _pending_physical_erasure(con)
    finally:
        con.close()
    if not pending:
        return False
    con = warehouse.connect(db)
    try:
        sync_ledger(con)
    finally:
        con.close()
    # models only (no tests): erasure must not wait on an unrelated failing data test
    status = run_dbt(as_of, command="run")
    if status != 0:
        raise TinyTrackerError(
            "dbt run after the retention run failed, so derived tables may still hold "
            "erased identifiers; the file was not rewritten. Fix the build and run "
            "`tinytracker retention apply` again to finish."
        )
    _publish_marts()
    storage.rebuild(db)
    con = warehouse.connect(db)
    try:
        con.execute(
            "update audit.retention_runs set physically_erased_at = current_timestamp "
            "where run_id in (select unnest(?))",
            [pending],
        )
    finally:
        con.close()
    return True


def _publish_marts() -> None:
    try:
        from orchestration.publish import publish_marts
    except ImportError:  # the analyst publish step is optional in a minimal install
        return
    publish_marts()


def run_retention(as_of: str | dt.date | None, *, dry_run: bool, requested_by: str = "cli",
                  build: bool = True) -> RunResult:
    """Plan (dry run) or apply the retention work due on ``as_of``; see the module docstring.

    The warehouse is the one env ``TINYTRACKER_DB`` names, the same file dbt builds.
    """
    as_of_date = parse_as_of(as_of) or dt.date.today()
    db = warehouse.db_path()
    if not dry_run:
        warehouse.secret()  # fail before any work when the suppression key is missing
        finish_physical_erasure(as_of_date, db)
    if build:
        # the models and their data tests (the plan must match the statuses before anything
        # is applied); unit tests check SQL logic, not data, and run in every full build
        status = run_dbt(as_of_date, list(PLAN_SELECTORS), command="build",
                         exclude=["test_type:unit"])
        if status != 0:
            raise TinyTrackerError(
                f"dbt build of the retention models for {as_of_date} failed (exit {status}); "
                "nothing was changed"
            )
    result = RunResult(run_id=str(uuid.uuid4()), as_of=as_of_date, dry_run=dry_run)
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con = warehouse.connect(db)
    try:
        ensure_run_tables(con)
        plan_as_of = _plan_as_of(con)
        if plan_as_of is not None and plan_as_of != as_of_date:
            raise TinyTrackerError(
                f"{PLAN_RELATION} was built for {plan_as_of}, not {as_of_date}: rebuild it "
                f"(tinytracker build --as-of {as_of_date}) or drop --no-build"
            )
        if dry_run:
            result.steps = summarise_plan(con)
            result.subjects = con.execute(
                f"select count(*) from (select distinct organisation_id, subject_kind, "
                f"subject_id from {PLAN_RELATION})"
            ).fetchone()[0]
            _log_steps(con, result, started_at, requested_by)
            return result
        apply_in_transaction(con, result, lambda: _steps_from_plan(con), requested_by)
    finally:
        con.close()
    if result.steps:
        result.physically_erased = finish_physical_erasure(as_of_date, db)
    return result


def format_result(result: RunResult) -> str:
    """The table the CLI and Dagster print: per rule and table, what was (or would be) done."""
    verb = "would change" if result.dry_run else "changed"
    header = (f"retention {'plan (dry run)' if result.dry_run else 'apply'} for "
              f"{result.as_of} - run {result.run_id}")
    if not result.steps:
        return (f"{header}\nnothing is due on {result.as_of}: "
                f"{'nothing would change' if result.dry_run else 'the warehouse is unchanged'}")
    width = max(len(step.rule_id) for step in result.steps)
    lines = [header, f"  {'rule':<{width}}  {'table':<24} {'action':<10} {'subjects':>9} "
                     f"{'rows':>11}"]
    for step in result.steps:
        lines.append(f"  {step.rule_id:<{width}}  {step.table_name:<24} {step.action:<10} "
                     f"{step.subjects:>9,} {step.rows:>11,}")
    lines.append(f"  {result.subjects:,} subjects; {result.rows:,} rows {verb}")
    if result.dry_run:
        lines.append("  nothing was changed; run `tinytracker retention apply` to apply it")
    else:
        lines.append(f"  backups still hold the erased data until {result.backups_clear_on} "
                     "(90 days)")
        if result.physically_erased:
            lines.append("  warehouse file rewritten: no erased value remains in its bytes")
        lines.append("  audit: select * from audit.retention_log where run_id = "
                     f"'{result.run_id}'")
    return "\n".join(lines)
