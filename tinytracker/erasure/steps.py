"""Which rows a run changes: ``run_subjects`` and ``run_steps``, from a plan or from subjects.

Both paths end in the same two temp tables that :mod:`.transaction` executes:

- ``run_subjects`` (organisation_id, subject_kind, subject_id, rule_id, surrogate_id): one row
  per subject, with a fresh random surrogate (never derived from an identifier);
- ``run_steps``: the plan's rows (see :mod:`.plan`) joined to each subject's surrogate.

A scheduled run takes them from ``retention.retention_plan`` (built by dbt), leaving out every
subject that ``retention_hold_coverage`` (the one definition of who a standing hold covers)
names at the moment of the apply. An erasure request or a restore replay fills
``run_subjects`` itself; its steps are expanded by the same function that builds the plan
(:func:`.plan.build_retention_plan`), so there is one rule-to-step expansion.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import plan
from tinytracker.erasure.result import RunResult, StepResult

PLAN_SCHEMA = "retention"
PLAN_MODEL = "retention_plan"
HOLD_COVERAGE_MODEL = "retention_hold_coverage"


def plan_relation(schema: str = PLAN_SCHEMA) -> str:
    return f"{schema}.{PLAN_MODEL}"


def plan_as_of(con: duckdb.DuckDBPyConnection, relation: str) -> dt.date | None:
    """The single ``as_of`` a built plan was evaluated for (None when the plan is empty)."""
    try:
        rows = con.execute(f"select distinct as_of from {relation}").fetchall()
    except duckdb.CatalogException:
        raise TinyTrackerError(
            f"{relation} does not exist: build the retention models first "
            "(tinytracker build --as-of DATE)"
        ) from None
    if len(rows) > 1:
        raise TinyTrackerError(f"{relation} mixes several as_of dates; rebuild it")
    return rows[0][0] if rows else None


def steps_from_plan(
    con: duckdb.DuckDBPyConnection, result: RunResult, schema: str = PLAN_SCHEMA
) -> None:
    """``run_subjects`` / ``run_steps`` from the plan in ``schema``, held subjects left out.

    Run inside the transaction that executes the steps: the plan may have been built before a
    hold was placed (``--no-build``), so the hold coverage view is read again here and every
    subject it names is left out (``result.skipped_on_hold``).
    """
    relation = plan_relation(schema)
    coverage = f"{schema}.{HOLD_COVERAGE_MODEL}"
    try:
        con.execute(
            f"""
            create or replace temp table run_held as
            select distinct planned.organisation_id, planned.subject_kind, planned.subject_id
            from {relation} as planned
            semi join {coverage} as covered
                using (organisation_id, subject_kind, subject_id)
            """
        )
    except duckdb.CatalogException:
        raise TinyTrackerError(
            f"{coverage} does not exist: build the retention models first "
            "(tinytracker build --as-of DATE)"
        ) from None
    con.execute(
        f"""
        create or replace temp table run_subjects as
        select
            organisation_id, subject_kind, subject_id, rule_id,
            cast(gen_random_uuid() as varchar) as surrogate_id
        from (
            select distinct organisation_id, subject_kind, subject_id, rule_id
            from {relation}
        ) as planned
        anti join run_held using (organisation_id, subject_kind, subject_id)
        """
    )
    con.execute(
        f"""
        create or replace temp table run_steps as
        select planned.*, run_subjects.surrogate_id
        from {relation} as planned
        inner join run_subjects using (organisation_id, subject_kind, subject_id, rule_id)
        """
    )
    result.skipped_on_hold = int(scalar(con, "select count(*) from run_held"))


def steps_from_subjects(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """``run_steps`` for the subjects in temp table ``run_subjects``, by the action mapping.

    ``run_subjects`` comes from outside the plan: an erasure request, or erased subjects found
    again in a restored backup. Each subject takes the steps of its own rule or, where
    ``rule_id`` is not a retention rule (an erasure request), of its kind's first rule, so
    every erasure goes through the same mapping (seeds/policy/retention_actions.csv) and the
    same expansion as a scheduled run. Its rows keep the subject's own rule id.
    """
    con.execute(
        """
        create or replace temp table run_mapped_subjects as
        with kind_rule as (
            select subject_kind, arg_min(rule_id, tie_break_rank) as mapping_rule_id
            from retention.retention_rules
            group by subject_kind
        )
        select
            run_subjects.*,
            coalesce(rules.rule_id, kind_rule.mapping_rule_id) as mapping_rule_id
        from run_subjects
        left join retention.retention_rules as rules on run_subjects.rule_id = rules.rule_id
        left join kind_rule on run_subjects.subject_kind = kind_rule.subject_kind
        """
    )
    unmapped = con.execute(
        "select count(*) from run_mapped_subjects where mapping_rule_id is null"
    ).fetchall()[0][0]  # fetched to the end: the relations below need no result pending
    if unmapped:
        raise TinyTrackerError(
            f"{unmapped} subject(s) are of a kind no retention rule acts on; nothing was changed"
        )
    statuses = con.sql(
        """
        select organisation_id, mapping_rule_id as rule_id, subject_kind, subject_id,
            cast(null as date) as due_on, 'due' as status, true as is_winning_rule
        from run_mapped_subjects
        """
    )
    actions = con.table("retention.retention_actions")
    tables = {
        name: con.table(name) for (name,) in actions.project("table_name").distinct().fetchall()
    }
    planned = plan.build_retention_plan(statuses, actions, tables, as_of)
    # a temp table, not a view: nothing of a run may outlive its connection in the warehouse
    con.execute(f"create or replace temp table run_planned_steps as {planned.sql_query()}")
    con.execute(
        """
        create or replace temp table run_steps as
        select
            planned.organisation_id,
            subjects.rule_id,
            planned.* exclude (organisation_id, rule_id),
            subjects.surrogate_id
        from run_planned_steps as planned
        inner join run_mapped_subjects as subjects
            on subjects.organisation_id = planned.organisation_id
            and subjects.subject_kind = planned.subject_kind
            and subjects.subject_id = planned.subject_id
            and subjects.mapping_rule_id = planned.rule_id
        """
    )


def summarise_steps(con: duckdb.DuckDBPyConnection) -> list[StepResult]:
    """Per rule and table of ``run_steps``: subjects and rows it would delete or anonymise.

    In the order an apply executes them (and reports them), so a dry run's table and the
    apply's table of the same plan are the same.
    """
    rows = con.execute(
        """
        select rule_id, table_name, action, count(distinct (organisation_id, subject_id)),
            sum(row_count)
        from run_steps
        group by rule_id, table_name, action
        order by min(step), rule_id, table_name
        """
    ).fetchall()
    return [
        StepResult(rule, table, action, int(subjects), int(total or 0))
        for rule, table, action, subjects, total in rows
    ]
