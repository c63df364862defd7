"""Plan and apply a retention run: the only code that deletes or anonymises source data.

A run executes ``retention.retention_plan`` (built by dbt for the run's ``as_of``) exactly:

- one transaction for the whole run, one set-based statement per rule, step and table, so a
  run killed at any moment leaves the warehouse as before it or as after it;
- every subject gets one random surrogate (never derived from an identifier), used in every
  table it is re-keyed in; ``audit.erasure_suppressions`` gets the subject's keyed token, which
  stops a later extract bringing it back, but not that surrogate (orchestration/rights/
  suppression.py says why and the one exception);
- a subject under a standing legal hold is never touched, even when the plan names it (a
  hold placed after the plan was built): the holds are re-read inside the transaction;
- ``audit.retention_log`` gets one row per rule and table (counts only) and
  ``audit.retention_runs`` one row per run, dry runs included;
- the rows are stamped with the real date of the action (today), not the run's ``as_of``,
  and an apply refuses an ``as_of`` after today (a dry run may simulate any date);
- after the commit, dbt rebuilds everything derived (the executed plan, the marts' key map)
  and the warehouse file is rewritten (:func:`orchestration.storage.rebuild`) so that no
  erased value survives in its bytes. A run interrupted between the commit and the rewrite is
  finished by the next run before it does anything else.

A dry run that builds (``tinytracker retention plan``) builds the retention models into schema
``retention_dry_run``, so the DPO's ``retention.*`` relations keep showing the real date.

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
from orchestration.defs.dates import london_today
from orchestration.errors import TinyTrackerError
from orchestration.retention.planning import EXECUTION_ORDER, key_expression
from orchestration.rights import suppression

ANONYMISED_TABLES = {f"raw.{name}" for name in warehouse.ANONYMISED_TABLES}
PLAN_RELATION = "retention.retention_plan"
# A dry run's own copy of the retention models (dbt var retention_schema, see
# macros/generate_schema_name.sql): the DPO's retention.* relations are left as they are.
DRY_RUN_SCHEMA = "retention_dry_run"
DRY_RUN_PLAN_RELATION = f"{DRY_RUN_SCHEMA}.retention_plan"
# Everything a retention run reads or writes, so a plan can be refreshed for a date without
# building the marts; the full build after an apply refreshes the rest.
PLAN_SELECTORS = ("+retention_plan", "+retention_status")
# A dry run rebuilds only the date-dependent retention models; seeds and staging views do not
# depend on as_of and are read where they are.
DRY_RUN_SELECTORS = ("+retention_plan,path:models/retention",
                     "+retention_status,path:models/retention")
EXECUTION_ORDER_SQL = ", ".join(EXECUTION_ORDER)

# Columns an anonymise step keeps, computed from a column it clears in the same statement
# (UPDATE reads the old values): the birth cohort (spec: "year group / birth cohort
# (academic year of birth)") survives the date of birth. Start year of the academic year
# (1 September to 31 August) the pupil was born in, as stg_pupils derives it.
DERIVED_BEFORE_CLEARING: dict[str, dict[str, tuple[str, str]]] = {
    "raw.pupils": {
        "birth_academic_year": (
            "date_of_birth",
            "coalesce(target.birth_academic_year, "
            "cast(extract(year from target.date_of_birth) as bigint) "
            "- case when extract(month from target.date_of_birth) < 9 then 1 else 0 end)",
        ),
    },
}


def action_date() -> dt.date:
    """The real date of an action: today in London, the calendar the schedules run on.

    It is what ``anonymised_on``, the suppression list's ``actioned_on`` and
    ``backups_clear_on`` record, whatever ``as_of`` the run evaluated.
    """
    return london_today()


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
    # the real date of the action (today), stamped on every row it changes
    actioned_on: dt.date = field(default_factory=action_date)
    # the policy's backup period when the run started (seeds/policy, backups_kept_90_days)
    backup_days: int = field(default_factory=storage.backup_retention_days)
    # planned subjects left alone because a standing legal hold covers them
    skipped_on_hold: int = 0
    # earlier applied runs whose interrupted file rewrite this run finished first
    finished_earlier_runs: int = 0

    @property
    def rows(self) -> int:
        return sum(step.rows for step in self.steps)

    @property
    def backups_clear_on(self) -> dt.date:
        """First day no backup holds what this run erased: action date + backup period."""
        return self.actioned_on + dt.timedelta(days=self.backup_days)

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


def _plan_as_of(con: duckdb.DuckDBPyConnection,
                plan_relation: str = PLAN_RELATION) -> dt.date | None:
    try:
        rows = con.execute(f"select distinct as_of from {plan_relation}").fetchall()
    except duckdb.CatalogException:
        raise TinyTrackerError(
            f"{plan_relation} does not exist: build the retention models first "
            "(tinytracker build --as-of DATE)"
        ) from None
    if len(rows) > 1:
        raise TinyTrackerError(f"{plan_relation} mixes several as_of dates; rebuild it")
    return rows[0][0] if rows else None


def summarise_steps(con: duckdb.DuckDBPyConnection) -> list[StepResult]:
    """Per rule and table of ``run_steps``: subjects and rows it would delete or anonymise.

    In the order an apply executes them (and reports them), so a dry run's table and the
    apply's table of the same plan are the same.
    """
    rows = con.execute(
        f"""
        select rule_id, table_name, action, count(distinct (organisation_id, subject_id)),
            sum(row_count)
        from run_steps
        group by rule_id, table_name, action
        order by min(step), rule_id, table_name
        """
    ).fetchall()
    return [StepResult(rule, table, action, int(subjects), int(total or 0))
            for rule, table, action, subjects, total in rows]


def _statement(table: str, action: str, key_column: str, rekey_column: str | None,
               columns_to_clear: Sequence[str]) -> tuple[str, bool]:
    """One set-based statement for one (rule, step, columns) group of the plan.

    ``run_steps`` (a temp table: the plan rows joined to each subject's surrogate) is filtered
    to the group by the parameters ``rule_id, step, columns_to_clear`` ($1, $2, $3). Returns
    the SQL and whether it also takes $4, the action date stamped on anonymised subjects.
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
        return f"delete from {table} as target using run_steps where {match}", False
    if action != "anonymise":
        raise TinyTrackerError(f"retention plan has unknown action {action!r} for {table}")
    assignments = [
        f"{column} = {expression}"
        for column, (source, expression) in DERIVED_BEFORE_CLEARING.get(table, {}).items()
        if source in columns_to_clear
    ]
    assignments += [f"{column} = null" for column in columns_to_clear]
    if rekey_column:
        assignments.append(f"{rekey_column} = run_steps.surrogate_id")
    stamps_date = table in ANONYMISED_TABLES
    if stamps_date:
        assignments += ["anonymised_on = $4::date",
                        "anonymised_by_rule_id = run_steps.rule_id"]
    if not assignments:
        raise TinyTrackerError(f"retention plan step on {table} changes no column")
    sql = f"update {table} as target set {', '.join(assignments)} from run_steps where {match}"
    return sql, stamps_date


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


HELD_PLAN_SUBJECTS_SQL = """
create or replace temp table run_held as
with standing_holds as (
    select organisation_id, subject_kind, subject_id
    from audit.legal_holds
    where released_at is null
),
planned as (
    select distinct organisation_id, subject_kind, subject_id
    from {plan}
),
-- the pupil or employee whose hold also keeps a planned subject (as the retention models
-- hold them): the person itself, a contact's pupil, the person a correspondence item is
-- about, or for an item about a contact that contact's pupil
covering_people as (
    select organisation_id, subject_kind, subject_id,
        subject_kind as person_kind, subject_id as person_id
    from planned
    where subject_kind in ('pupil', 'employee')
    union all
    select planned.organisation_id, planned.subject_kind, planned.subject_id,
        'pupil' as person_kind, contacts.pupil_id as person_id
    from planned
    inner join raw.pupil_contacts as contacts
        on contacts.organisation_id = planned.organisation_id
        and contacts.contact_id = planned.subject_id
    where planned.subject_kind = 'pupil_contact'
    union all
    select planned.organisation_id, planned.subject_kind, planned.subject_id,
        items.subject_kind as person_kind, items.subject_id as person_id
    from planned
    inner join raw.correspondence as items
        on items.organisation_id = planned.organisation_id
        and items.correspondence_id = planned.subject_id
    where planned.subject_kind = 'correspondence' and items.subject_kind in ('pupil', 'employee')
    union all
    select planned.organisation_id, planned.subject_kind, planned.subject_id,
        'pupil' as person_kind, contacts.pupil_id as person_id
    from planned
    inner join raw.correspondence as items
        on items.organisation_id = planned.organisation_id
        and items.correspondence_id = planned.subject_id
    inner join raw.pupil_contacts as contacts
        on contacts.organisation_id = items.organisation_id
        and contacts.contact_id = items.subject_id
    where planned.subject_kind = 'correspondence' and items.subject_kind = 'contact'
)
select planned.organisation_id, planned.subject_kind, planned.subject_id
from planned
inner join standing_holds as holds
    on holds.organisation_id = planned.organisation_id and holds.subject_kind = 'organisation'
union
select covering_people.organisation_id, covering_people.subject_kind,
    covering_people.subject_id
from covering_people
inner join standing_holds as holds
    on holds.organisation_id = covering_people.organisation_id
    and holds.subject_kind = covering_people.person_kind
    and holds.subject_id = covering_people.person_id
"""


def _steps_from_plan(con: duckdb.DuckDBPyConnection, result: RunResult,
                     plan_relation: str = PLAN_RELATION) -> None:
    """``run_subjects`` / ``run_steps`` from the plan, one new surrogate each, holds excluded.

    Run inside the transaction that executes the steps: the plan may have been built before
    a hold was placed (``--no-build``), so the standing holds in ``audit.legal_holds`` are
    read again here and every subject they cover is left out (``result.skipped_on_hold``).
    """
    con.execute(HELD_PLAN_SUBJECTS_SQL.format(plan=plan_relation))
    con.execute(
        f"""
        create or replace temp table run_subjects as
        select
            organisation_id, subject_kind, subject_id, rule_id,
            cast(gen_random_uuid() as varchar) as surrogate_id
        from (
            select distinct organisation_id, subject_kind, subject_id, rule_id
            from {plan_relation}
        ) as planned
        anti join run_held using (organisation_id, subject_kind, subject_id)
        """
    )
    con.execute(
        f"""
        create or replace temp table run_steps as
        select plan.*, run_subjects.surrogate_id
        from {plan_relation} as plan
        inner join run_subjects using (organisation_id, subject_kind, subject_id, rule_id)
        """
    )
    result.skipped_on_hold = int(con.execute("select count(*) from run_held").fetchone()[0])


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
    # the order the plan attributes rows in (planning.EXECUTION_ORDER): a row that two steps
    # would delete is deleted, and counted, by the first
    groups = con.execute(
        f"""
        select rule_id, step, table_name, action, key_column, rekey_column, columns_to_clear,
               count(distinct (organisation_id, subject_id))
        from run_steps
        group by all
        order by {EXECUTION_ORDER_SQL}, columns_to_clear
        """
    ).fetchall()
    if record_suppressions:
        suppression.capture_identifiers(con)  # before the statements clear them
    per_table: dict[tuple[str, str, str], list[int]] = {}
    for number, (rule_id, step, table, action, key_column, rekey_column, clear, subjects) \
            in enumerate(groups, start=1):
        columns = [c.strip() for c in clear.split(",") if c.strip()] if clear else []
        sql, stamps_date = _statement(table, action, key_column, rekey_column, columns)
        params = [rule_id, step, clear] + ([result.actioned_on] if stamps_date else [])
        affected = con.execute(sql, params).fetchone()[0]
        totals = per_table.setdefault((rule_id, table, action), [0, 0])
        totals[0] += int(subjects)
        totals[1] += int(affected)
        after_statement(number)
    result.steps += [StepResult(rule, table, action, subjects, rows)
                    for (rule, table, action), (subjects, rows) in per_table.items()]
    result.subjects = con.execute("select count(*) from run_subjects").fetchone()[0]
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
    con.execute(f"delete from {PLAN_RELATION}")
    con.execute(f"drop schema if exists {DRY_RUN_SCHEMA} cascade")


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


def finish_pending_erasure(as_of: dt.date | None, db: Path | None = None) -> list[str]:
    """Rebuild derived models and rewrite the file for runs whose erasure is not yet physical.

    Returns the run ids it finished (empty when there was nothing to do). Called after every
    apply and, first thing, by the next run (a kill between commit and rewrite must not leave
    erased bytes).
    """
    db = db or warehouse.db_path()
    con = warehouse.connect(db)
    try:
        ensure_run_tables(con)
        pending = _pending_physical_erasure(con)
    finally:
        con.close()
    if not pending:
        return []
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
    return pending


def finish_physical_erasure(as_of: dt.date | None, db: Path | None = None) -> bool:
    """:func:`finish_pending_erasure`, answering only whether there was something to finish."""
    return bool(finish_pending_erasure(as_of, db))


def _publish_marts() -> None:
    try:
        from orchestration.publish import publish_marts
    except ImportError:  # the analyst publish step is optional in a minimal install
        return
    publish_marts()


def dry_run_target_path() -> Path:
    """Where a dry run's dbt build writes its manifest: beside, never over, the main one.

    dagster-dbt names assets after the schemas in target/manifest.json, so a manifest with
    the retention models in retention_dry_run must not replace it.
    """
    main = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    if not main.is_absolute():
        main = warehouse.PROJECT_DIR / main
    return main / DRY_RUN_SCHEMA


def refuse_future_apply(as_of: dt.date, today: dt.date | None = None) -> None:
    """An apply erases what is due on ``as_of``: a date after today would erase people early."""
    today = today or action_date()
    if as_of > today:
        raise TinyTrackerError(
            f"retention apply refused: as_of {as_of} is after today ({today}). An apply "
            "deletes and anonymises what is due on as_of, so a future date would erase people "
            "before the policy allows. Simulate it with a dry run instead: `tinytracker "
            f"retention plan --as-of {as_of}` (in Dagster: dry_run true)."
        )


def _build_plan(as_of: dt.date, dry_run: bool) -> str:
    """Build the retention models for ``as_of``; returns the plan relation to execute."""
    # the models and their data tests (the plan must match the statuses before anything
    # is applied); unit tests check SQL logic, not data, and run in every full build
    if dry_run:
        status = run_dbt(as_of, list(DRY_RUN_SELECTORS), command="build",
                         exclude=["test_type:unit"],
                         extra_vars={"retention_schema": DRY_RUN_SCHEMA},
                         target_path=dry_run_target_path())
        relation = DRY_RUN_PLAN_RELATION
    else:
        status = run_dbt(as_of, list(PLAN_SELECTORS), command="build",
                         exclude=["test_type:unit"])
        relation = PLAN_RELATION
    if status != 0:
        raise TinyTrackerError(
            f"dbt build of the retention models for {as_of} failed (exit {status}); "
            "nothing was changed"
        )
    return relation


def run_retention(as_of: str | dt.date | None, *, dry_run: bool, requested_by: str = "cli",
                  build: bool = True) -> RunResult:
    """Plan (dry run) or apply the retention work due on ``as_of``; see the module docstring.

    The warehouse is the one env ``TINYTRACKER_DB`` names, the same file dbt builds.
    """
    today = action_date()
    as_of_date = parse_as_of(as_of) or today
    if not dry_run:
        refuse_future_apply(as_of_date, today)
    db = warehouse.db_path()
    result = RunResult(run_id=str(uuid.uuid4()), as_of=as_of_date, dry_run=dry_run,
                       actioned_on=today)
    if not dry_run:
        warehouse.secret()  # fail before any work when the suppression key is missing
        result.finished_earlier_runs = len(finish_pending_erasure(as_of_date, db))
    plan_relation = _build_plan(as_of_date, dry_run) if build else PLAN_RELATION
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con = warehouse.connect(db)
    try:
        ensure_run_tables(con)
        plan_as_of = _plan_as_of(con, plan_relation)
        if plan_as_of is not None and plan_as_of != as_of_date:
            raise TinyTrackerError(
                f"{plan_relation} was built for {plan_as_of}, not {as_of_date}: rebuild it "
                f"(tinytracker build --as-of {as_of_date}) or drop --no-build"
            )
        if dry_run:
            # what an apply would do now: the same steps, holds re-read, nothing executed
            _steps_from_plan(con, result, plan_relation)
            result.steps = summarise_steps(con)
            result.subjects = con.execute("select count(*) from run_subjects").fetchone()[0]
            _log_steps(con, result, started_at, requested_by)
            return result
        apply_in_transaction(con, result, lambda: _steps_from_plan(con, result, plan_relation),
                             requested_by)
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
    lines = [header]
    if result.finished_earlier_runs:
        lines.append(
            f"  finished the interrupted file rewrite of {result.finished_earlier_runs} earlier "
            "run(s) first: derived models rebuilt and the warehouse file rewritten, so no value "
            "they erased remains in its bytes"
        )
    if result.skipped_on_hold:
        lines.append(
            f"  {result.skipped_on_hold:,} planned subject(s) are under a standing legal hold "
            f"and {'would be' if result.dry_run else 'were'} skipped (the plan was built before "
            "the hold; rebuilt, they show as on_hold)"
        )
    if not result.steps:
        if result.dry_run:
            outcome = "nothing would change"
        elif result.finished_earlier_runs:
            outcome = "this run changed no rows"
        else:
            outcome = "the warehouse is unchanged"
        lines.append(f"  nothing is due on {result.as_of}: {outcome}")
        return "\n".join(lines)
    width = max(len(step.rule_id) for step in result.steps)
    lines.append(f"  {'rule':<{width}}  {'table':<24} {'action':<10} {'subjects':>9} "
                 f"{'rows':>11}")
    for step in result.steps:
        lines.append(f"  {step.rule_id:<{width}}  {step.table_name:<24} {step.action:<10} "
                     f"{step.subjects:>9,} {step.rows:>11,}")
    lines.append(f"  {result.subjects:,} subjects; {result.rows:,} rows {verb}")
    if result.dry_run:
        lines.append("  nothing was changed; run `tinytracker retention apply` to apply it")
    else:
        lines.append(f"  actioned on {result.actioned_on}; backups still hold the erased data "
                     f"until {result.backups_clear_on} ({result.backup_days} days)")
        if result.physically_erased:
            lines.append("  warehouse file rewritten: no erased value remains in its bytes")
        lines.append("  audit: select * from audit.retention_log where run_id = "
                     f"'{result.run_id}'")
    return "\n".join(lines)
