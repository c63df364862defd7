"""The derived rows of the people a run erases, deleted in the run's own transaction.

A scheduled run is followed by a ``dbt run`` of the models that hold data, which rebuilds the
derived tables from ``raw.*`` (:func:`tinytracker.tasks.finish_erasure`). For one person on
request that rebuild is most of the time the request takes (every intermediate table and mart,
for one child), so an erasure request instead deletes, beside its ``raw.*`` changes and in the same
transaction, exactly the derived rows that hold the person:

- every table of schema ``intermediate`` with a ``pupil_key`` column: the rows under the
  pupil's key (``intermediate.int_pupil_keys``, the one map from MIS id to key), and that map
  entry itself;
- the retention plan (``retention.retention_plan`` and a dry run's copy), which names due
  subjects by MIS id.

Views (staging, retention, reporting, sharing) read ``raw.*`` and need nothing. The marts are
aggregates under small-cell suppression (no row is about one person) and are rebuilt, with the
analyst copy, by the next nightly run, which also rewrites the file (the run stays pending
until then: ``audit.retention_runs.physically_erased_at`` is null). The incremental models
stay consistent: the anonymised pupil has no key now, so the next build keys its surrogate id
afresh and brings its re-keyed marks in as a new pupil's (models/intermediate/int_pupil_keys.sql).
"""

from __future__ import annotations

import duckdb

KEY_MAP = ("intermediate", "int_pupil_keys")
PLAN_TABLES = ("retention.retention_plan", "retention_dry_run.retention_plan")


def _tables(con: duckdb.DuckDBPyConnection, schema: str, column: str) -> list[str]:
    rows = con.execute(
        """
        select distinct c.table_name from duckdb_columns() as c
        inner join duckdb_tables() as t
            on t.schema_name = c.schema_name and t.table_name = c.table_name
            and t.database_name = c.database_name
        where c.database_name = current_database() and c.schema_name = ?
            and c.column_name = ?
        order by 1
        """,
        [schema, column],
    ).fetchall()
    return [str(row[0]) for row in rows]


def delete_derived_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Delete the derived rows of every subject in ``run_subjects``; returns how many.

    Call inside the run's transaction, before its ``raw.*`` statements or after: it reads only
    ``run_subjects`` and the derived tables.
    """
    deleted = 0
    schema, key_map = KEY_MAP
    if key_map in _tables(con, schema, "pupil_key"):
        con.execute(
            f"""
            create or replace temp table erased_pupil_keys as
            select keys.pupil_key from {schema}.{key_map} as keys
            inner join run_subjects as subjects
                on subjects.subject_kind = 'pupil'
                and subjects.organisation_id = keys.organisation_id
                and subjects.subject_id = keys.pupil_id
            """
        )
        for table in _tables(con, schema, "pupil_key"):
            deleted += _count(
                con,
                f"delete from {schema}.{table} where pupil_key in "
                "(select pupil_key from erased_pupil_keys)",
            )
        con.execute("drop table erased_pupil_keys")
    for relation in PLAN_TABLES:
        plan_schema, plan_table = relation.split(".")
        if plan_table in _tables(con, plan_schema, "subject_id"):
            deleted += _count(
                con,
                f"""
                delete from {relation} as plan using run_subjects as subjects
                where plan.organisation_id = subjects.organisation_id
                    and plan.subject_kind = subjects.subject_kind
                    and plan.subject_id = subjects.subject_id
                """,
            )
    return deleted


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0
