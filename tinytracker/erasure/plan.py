"""Turn retention statuses and the action mapping into the row-level retention plan.

The dbt Python model ``models/retention/retention_plan.py`` is a few lines that call
:func:`build_retention_plan`; the logic lives here so pytest can run it on a small in-memory
DuckDB without dbt. Everything is set-based on DuckDB relations: the only Python loop runs over
the handful of (table, key) pairs of the mapping seed, never over subjects or rows.

What a plan row means (the apply step executes it, one statement per rule and table):
``action`` on ``table_name`` for the rows of ``organisation_id`` whose ``key_column`` equals
``subject_id``. ``delete`` removes them; ``anonymise`` sets ``columns_to_clear`` to null and
replaces ``rekey_column`` with the subject's random surrogate (the same one in every table).
A ``key_column`` written ``json_column.member`` matches that member of a JSON column
(``raw.quarantine.raw_values``).

Each physical row is planned once, under the step that will change it. Steps run in
:data:`EXECUTION_ORDER` (every rule's step 1, the subject's own table, first); where two due
subjects' steps reach the same row (a contact due under the contacts rule whose pupil is due
too: both would delete the contact's row), the first step in that order claims it and the
later one neither counts it nor, when it has no row left, appears. So the plan's
``row_count`` is exactly what the apply will report in ``audit.retention_log``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb

EXECUTION_ORDER: tuple[str, ...] = ("step", "rule_id")
"""The order the apply executes the plan's steps in, and the plan attributes rows in."""

PLAN_COLUMNS: tuple[str, ...] = (
    "organisation_id",
    "rule_id",
    "subject_kind",
    "subject_id",
    "step",
    "action",
    "table_name",
    "key_column",
    "rekey_column",
    "columns_to_clear",
    "row_count",
    "due_on",
    "as_of",
)


def statuses_as_of(statuses: duckdb.DuckDBPyRelation, con: duckdb.DuckDBPyConnection) -> dt.date:
    """The plan's evaluation date: the one retention_status was built for.

    Read from the statuses, not from a model config: a config holding ``var('as_of')`` is
    rendered when dbt parses the project, so it would tie the parse to the date and make every
    new date a full re-parse (and a parse reused in process would carry a stale date). The
    statuses are compiled with the invocation's ``as_of`` (macro ``as_of``), so plan and
    statuses always agree. No status at all means nothing is planned: today's date, as SQL's
    ``current_date`` would give.
    """
    rows = statuses.aggregate("max(as_of)").fetchall()
    if rows and rows[0][0] is not None:
        value: dt.date = rows[0][0]
        return value
    today: dt.date = con.execute("select current_date").fetchall()[0][0]
    return today


def key_expression(key_column: str, table_alias: str | None = None) -> str:
    """SQL for the value a mapping key selects on: a column, or a JSON member ``col.member``."""
    prefix = f"{table_alias}." if table_alias else ""
    if "." in key_column:
        json_column, member = key_column.split(".", 1)
        # quarantined values are kept as given, so padding must not hide the subject
        return f"trim(json_extract_string({prefix}{json_column}, '$.{member}'))"
    return f"{prefix}{key_column}"


def _blocks(earlier: Mapping[str, object], later: Mapping[str, object]) -> bool:
    """Whether a row ``earlier`` changes is out of reach of ``later`` (same table).

    A deleted row is gone; a row whose ``later`` key column was re-keyed no longer matches.
    """
    return earlier["operation"] == "delete" or (
        bool(earlier["rekey_column"]) and earlier["rekey_column"] == later["key_column"]
    )


def claimed_row_counts(
    due: duckdb.DuckDBPyRelation,
    actions: duckdb.DuckDBPyRelation,
    tables: Mapping[str, duckdb.DuckDBPyRelation],
) -> duckdb.DuckDBPyRelation:
    """Rows each (rule, step) will change, per organisation and subject, each row counted once.

    ``due`` has organisation_id, rule_id, subject_id of the due subjects. For every table the
    mapping names, the table's rows are grouped by organisation and every key the mapping
    reads there; each group is matched to the due subjects of every step on that table, and
    counted for every step (in :data:`EXECUTION_ORDER`) that reaches it unless an earlier step
    that changed it deleted the row or re-keyed the later step's key.

    Columns: rule_id, step, table_name, organisation_id, subject_id, row_count.
    """
    for (table_name,) in actions.project("table_name").distinct().order("table_name").fetchall():
        if table_name not in tables:
            raise KeyError(
                f"retention_actions names {table_name}, which the plan model does not read: "
                "add it to models/retention/retention_plan.py"
            )
    entries = (
        actions.project(
            "rule_id, step, table_name, key_column, operation, coalesce(rekey_column, '') "
            "as rekey_column"
        )
        .order(", ".join(("table_name", *EXECUTION_ORDER)))
        .fetchall()
    )
    by_table: dict[str, list[dict[str, object]]] = {}
    for rule_id, step, table_name, key_column, operation, rekey_column in entries:
        by_table.setdefault(table_name, []).append(
            {
                "rule_id": rule_id,
                "step": int(step),
                "key_column": key_column,
                "operation": operation,
                "rekey_column": rekey_column,
            }
        )
    counts: duckdb.DuckDBPyRelation | None = None
    for table_name, steps in by_table.items():
        keys = list(dict.fromkeys(str(entry["key_column"]) for entry in steps))
        key_alias = {key: f"tt_key_{n}" for n, key in enumerate(keys)}
        grouped = tables[table_name].aggregate(
            ", ".join(
                ["organisation_id as tt_org"]
                + [f"cast({key_expression(key)} as varchar) as {key_alias[key]}" for key in keys]
                + ["count(*) as tt_rows"]
            ),
            ", ".join(["organisation_id"] + [key_expression(key) for key in keys]),
        )
        for n, entry in enumerate(steps):
            subjects = due.filter(f"rule_id = '{entry['rule_id']}'").project(
                f"organisation_id as tt_org_{n}, subject_id as tt_subject_{n}"
            )
            grouped = grouped.join(
                subjects,
                f"tt_org = tt_org_{n} and {key_alias[str(entry['key_column'])]} = tt_subject_{n}",
                how="left",
            )
        # a step changes a row it reaches unless an earlier step that blocks it changed the
        # row first (that step's own condition, so a step that did not run blocks nothing)
        changes: list[str] = []
        for n, entry in enumerate(steps):
            claimed = f"tt_subject_{n} is not null" + "".join(
                f" and not ({changes[m]})" for m in range(n) if _blocks(steps[m], entry)
            )
            changes.append(claimed)
            step_counts = grouped.filter(claimed).aggregate(
                f"'{entry['rule_id']}' as rule_id, {entry['step']} as step, "
                f"'{table_name}' as table_name, tt_org as organisation_id, "
                f"tt_subject_{n} as subject_id, sum(tt_rows) as row_count",
                f"tt_org, tt_subject_{n}",
            )
            counts = step_counts if counts is None else counts.union(step_counts)
    if counts is None:
        raise ValueError("retention_actions is empty: the policy maps no action to any table")
    return counts


def report_authors(reports: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Employees named as author on a historical report: their name is kept (policy)."""
    return (
        reports.filter("author_employee_id is not null")
        .project("organisation_id, author_employee_id as employee_id")
        .distinct()
    )


def build_retention_plan(
    statuses: duckdb.DuckDBPyRelation,
    actions: duckdb.DuckDBPyRelation,
    tables: Mapping[str, duckdb.DuckDBPyRelation],
    as_of: dt.date,
    con: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyRelation:
    """Every row-level change due on ``as_of``: due statuses x the mapping x the rows there now.

    Only statuses ``due`` under the subject's winning rule are planned: on-hold and actioned
    subjects are excluded by their status, and a pupil hit by both pupil rules is planned once.
    Steps that would change no row are left out: the subject has none there, or an earlier
    step (see :func:`claimed_row_counts`) already changes them.

    With ``con`` (the connection the relations live on, the dbt session) the due subjects are
    materialized once in a temp table: retention_status is a chain of views, and every step
    of :func:`claimed_row_counts` reads the due subjects again.
    """
    due = statuses.filter("status = 'due' and is_winning_rule").project(
        "organisation_id, rule_id, subject_kind, subject_id, due_on"
    )
    if con is not None:
        due.create_view("tt_plan_due_subjects", replace=True)
        con.execute(
            "create or replace temp table tt_plan_due as select * from tt_plan_due_subjects"
        )
        due = con.table("tt_plan_due")
    due = due.set_alias("due")
    mapping = actions.set_alias("mapping")
    counts = claimed_row_counts(
        due.project("organisation_id, rule_id, subject_id"), actions, tables
    ).set_alias("counts")
    authors = report_authors(tables["raw.reports"]).set_alias("authors")

    planned = (
        due.join(
            mapping,
            "due.rule_id = mapping.rule_id and due.subject_kind = mapping.subject_kind",
        )
        .join(
            counts,
            "counts.rule_id = mapping.rule_id and counts.step = mapping.step"
            " and counts.organisation_id = due.organisation_id"
            " and counts.subject_id = due.subject_id",
        )
        .join(
            authors,
            "authors.organisation_id = due.organisation_id"
            " and authors.employee_id = due.subject_id",
            how="left",
        )
    )
    return planned.project(
        f"""
        due.organisation_id,
        due.rule_id,
        due.subject_kind,
        due.subject_id,
        mapping.step,
        mapping.operation as action,
        mapping.table_name,
        mapping.key_column,
        nullif(mapping.rekey_column, '') as rekey_column,
        nullif(concat_ws(',',
            nullif(mapping.columns_to_clear, ''),
            case when authors.employee_id is null
                then nullif(mapping.columns_to_clear_unless_report_author, '') end
        ), '') as columns_to_clear,
        cast(counts.row_count as bigint) as row_count,
        due.due_on,
        date '{as_of.isoformat()}' as as_of
        """
    ).order("organisation_id, rule_id, subject_id, step")
