"""``tinytracker report``: what the warehouse holds and what the policy has done, in one page.

For the data-protection officer and for the end of ``make demo``: row counts per landing
table, the quarantine by rule, retention statuses per rule, the last retention runs and where
to look next. Read-only: it never takes the warehouse's write lock.
"""

from __future__ import annotations

import duckdb

from tinytracker.core import paths
from tinytracker.core.contract import LANDING_FILES
from tinytracker.core.warehouse import scalar


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema, table],
        )
        or scalar(
            con,
            "select count(*) from duckdb_views() where schema_name = ? and view_name = ?",
            [schema, table],
        )
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def render(con: duckdb.DuckDBPyConnection) -> str:
    db = paths.db_path()
    lines = [f"Tiny Tracker warehouse: {db}", "", "Landing tables (schema raw):"]
    for landing_file in LANDING_FILES:
        count = _rows(con, f"select count(*) from raw.{landing_file.name}")[0][0]
        lines.append(f"  raw.{landing_file.name:<22} {count:>12,} rows")
    quarantined = _rows(
        con, "select rule, count(*) from raw.quarantine group by all order by 2 desc"
    )
    lines += ["", "Quarantine (raw.quarantine), by rule:"]
    lines += [f"  {rule:<24} {n:>8,}" for rule, n in quarantined] or ["  (empty)"]
    if _table_exists(con, "retention", "retention_status"):
        as_of = _rows(con, "select max(as_of) from retention.retention_status")[0][0]
        lines += [
            "",
            f"Retention status on {as_of} (retention.retention_status):",
            f"  {'rule':<36} {'retained':>9} {'due':>7} {'on_hold':>8} {'actioned':>9}",
        ]
        for rule, retained, due, held, actioned in _rows(
            con,
            """
                select rule_id,
                    count(*) filter (where status = 'retained'),
                    count(*) filter (where status = 'due'),
                    count(*) filter (where status = 'on_hold'),
                    count(*) filter (where status = 'actioned')
                from retention.retention_status group by all order by rule_id""",
        ):
            lines.append(f"  {rule:<36} {retained:>9,} {due:>7,} {held:>8,} {actioned:>9,}")
    if _table_exists(con, "audit", "retention_runs"):
        runs = _rows(
            con,
            """
            select started_at, as_of, requested_by, outcome, subjects_affected, rows_affected,
                physically_erased_at is not null
            from audit.retention_runs order by started_at desc limit 5""",
        )
        lines += ["", "Last retention runs (audit.retention_runs):"]
        for started, as_of, who, outcome, subjects, rows, erased in runs:
            physical = ", file rewritten" if erased else ""
            lines.append(
                f"  {started:%Y-%m-%d %H:%M} as_of {as_of} {who:<16} {outcome:<12} "
                f"{subjects:>7,} subjects {rows:>10,} rows{physical}"
            )
        if not runs:
            lines.append("  (none yet)")
        pending, oldest = _rows(
            con,
            """
            select count(*), min(started_at) from audit.retention_runs
            where outcome = 'applied' and physically_erased_at is null""",
        )[0]
        if pending:
            lines.append(
                f"  PENDING: {pending} applied run(s) since {oldest:%Y-%m-%d %H:%M} not yet "
                "rewritten: their erased values are still in the warehouse file's bytes until "
                "the next nightly retention run (02:00 London) or `tinytracker retention apply`"
            )
    holds = _rows(con, "select count(*) from audit.legal_holds where released_at is null")[0][0]
    lines += [
        "",
        f"Active legal holds: {holds} (tinytracker hold list)",
        "",
        "Where to look:",
        "  DPO reports     retention.rpt_retention_summary, retention.rpt_retention_forecast",
        "  policy          docs/retention-schedule.md, retention.retention_rules",
        "  audit           audit.retention_log, audit.retention_runs, audit.legal_holds",
        "  analysts        the read-only analyst database (tinytracker publish), docs/analysts.md",
        "  orchestration   make ui (Dagster), docs/operations.md",
    ]
    return "\n".join(lines)
