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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb

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


def parse_as_of(value: object, con: duckdb.DuckDBPyConnection) -> dt.date:
    """The plan's evaluation date from the model config (``"{{ var('as_of') | string }}"``).

    A null var renders as ``'None'``: then the warehouse's ``current_date``, the same date the
    SQL models use, so plan and statuses never disagree about "today".
    """
    text = "" if value is None else str(value).strip()
    if text in ("", "None", "none", "null"):
        return con.execute("select current_date").fetchall()[0][0]
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"as_of must be a date written YYYY-MM-DD, got {text!r}") from exc


def key_expression(key_column: str, table_alias: str | None = None) -> str:
    """SQL for the value a mapping key selects on: a column, or a JSON member ``col.member``."""
    prefix = f"{table_alias}." if table_alias else ""
    if "." in key_column:
        json_column, member = key_column.split(".", 1)
        # quarantined values are kept as given, so padding must not hide the subject
        return f"trim(json_extract_string({prefix}{json_column}, '$.{member}'))"
    return f"{prefix}{key_column}"


def table_row_counts(
    actions: duckdb.DuckDBPyRelation, tables: Mapping[str, duckdb.DuckDBPyRelation]
) -> duckdb.DuckDBPyRelation:
    """Rows per organisation and key value, for every (table, key) pair the mapping names.

    Columns: table_name, key_column, organisation_id, subject_id, row_count.
    """
    pairs = actions.project("table_name, key_column").distinct().order("table_name, key_column")
    counts: duckdb.DuckDBPyRelation | None = None
    for table_name, key_column in pairs.fetchall():
        if table_name not in tables:
            raise KeyError(
                f"retention_actions names {table_name}, which the plan model does not read: "
                "add it to models/retention/retention_plan.py"
            )
        key = key_expression(key_column)
        grouped = tables[table_name].aggregate(
            f"'{table_name}' as table_name, '{key_column}' as key_column, organisation_id, "
            f"cast({key} as varchar) as subject_id, count(*) as row_count",
            f"organisation_id, {key}",
        )
        counts = grouped if counts is None else counts.union(grouped)
    if counts is None:
        raise ValueError("retention_actions is empty: the policy maps no action to any table")
    return counts.filter("subject_id is not null")


def report_authors(reports: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Employees named as author on a historical report: their name is kept (policy)."""
    return reports.filter("author_employee_id is not null").project(
        "organisation_id, author_employee_id as employee_id"
    ).distinct()


def build_retention_plan(
    statuses: duckdb.DuckDBPyRelation,
    actions: duckdb.DuckDBPyRelation,
    tables: Mapping[str, duckdb.DuckDBPyRelation],
    as_of: dt.date,
) -> duckdb.DuckDBPyRelation:
    """Every row-level change due on ``as_of``: due statuses x the mapping x the rows there now.

    Only statuses ``due`` under the subject's winning rule are planned: on-hold and actioned
    subjects are excluded by their status, and a pupil hit by both pupil rules is planned once.
    Tables where the subject has no rows are left out (nothing to do there).
    """
    due = statuses.filter("status = 'due' and is_winning_rule").set_alias("due")
    mapping = actions.set_alias("mapping")
    counts = table_row_counts(actions, tables).set_alias("counts")
    authors = report_authors(tables["raw.reports"]).set_alias("authors")

    planned = (
        due.join(
            mapping,
            "due.rule_id = mapping.rule_id and due.subject_kind = mapping.subject_kind",
        )
        .join(
            counts,
            "counts.table_name = mapping.table_name and counts.key_column = mapping.key_column"
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
        counts.row_count,
        due.due_on,
        date '{as_of.isoformat()}' as as_of
        """
    ).order("organisation_id, rule_id, subject_id, step")
