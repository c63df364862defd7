"""``tinytracker report``: what the warehouse holds and what the policy has done, in one page.

For the data-protection officer and for the end of ``make demo``: row counts per landing
table, the quarantine by rule, retention statuses per rule, the last retention runs and where
to look next. Read-only: it never takes the warehouse's write lock.

Each subject is counted once per status, under the rule that acts (or acted) on it
(``is_winning_rule``): a pupil whom two rules cover is anonymised once, by one of them, and
the counts per rule add up to what the runs did (``audit.retention_log``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from tinytracker.core import paths
from tinytracker.core.contract import LANDING_FILES
from tinytracker.core.warehouse import scalar

STATUSES = ("retained", "due", "on_hold", "actioned")


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


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def summary_data(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the summary shows, as data (the CLI's ``report --json`` result)."""
    data: dict[str, Any] = {
        "warehouse": paths.db_path(),
        "landing_rows": {
            f"raw.{f.name}": _rows(con, f"select count(*) from raw.{f.name}")[0][0]
            for f in LANDING_FILES
        },
        "quarantine_by_rule": dict(
            _rows(con, "select rule, count(*) from raw.quarantine group by all order by 2 desc")
        ),
        "retention_as_of": None,
        "retention_by_rule": [],
        "last_runs": [],
        "pending_rewrite": {"runs": 0, "since": None},
        "active_legal_holds": _rows(
            con, "select count(*) from audit.legal_holds where released_at is null"
        )[0][0],
    }
    if _table_exists(con, "retention", "retention_status"):
        data["retention_as_of"] = _rows(con, "select max(as_of) from retention.retention_status")[
            0
        ][0]
        filters = ", ".join(
            f"count(*) filter (where status = '{status}') as {status}" for status in STATUSES
        )
        data["retention_by_rule"] = [
            {"rule_id": rule, **dict(zip(STATUSES, counts))}
            for rule, *counts in _rows(
                con,
                f"select rule_id, {filters} from retention.retention_status "
                "where is_winning_rule group by all order by rule_id",
            )
        ]
    if _table_exists(con, "audit", "retention_runs"):
        data["last_runs"] = [
            {
                "started_at": started,
                "as_of": as_of,
                "requested_by": who,
                "outcome": outcome,
                "subjects": subjects,
                "rows": rows,
                "file_rewritten": erased,
            }
            for started, as_of, who, outcome, subjects, rows, erased in _rows(
                con,
                """
                select started_at, as_of, requested_by, outcome, subjects_affected,
                    rows_affected, physically_erased_at is not null
                from audit.retention_runs order by started_at desc limit 5""",
            )
        ]
        runs, since = _rows(
            con,
            """
            select count(*), min(started_at) from audit.retention_runs
            where outcome = 'applied' and physically_erased_at is null""",
        )[0]
        data["pending_rewrite"] = {"runs": runs, "since": since}
    return data


def render(con: duckdb.DuckDBPyConnection) -> str:
    return render_data(summary_data(con))


def render_data(data: dict[str, Any]) -> str:
    lines = [f"Tiny Tracker warehouse: {data['warehouse']}", "", "Landing tables (schema raw):"]
    lines += [f"  {table:<26} {count:>12,} rows" for table, count in data["landing_rows"].items()]
    lines += ["", "Quarantine (raw.quarantine), by rule:"]
    lines += [f"  {rule:<24} {n:>8,}" for rule, n in data["quarantine_by_rule"].items()] or [
        "  (empty)"
    ]
    as_of: dt.date | None = data["retention_as_of"]
    if as_of is not None:
        lines += [
            "",
            f"Retention status on {as_of} (retention.retention_status; each subject counted "
            "once, under the rule that acts on it):",
            f"  {'rule':<36} {'retained':>9} {'due':>7} {'on_hold':>8} {'actioned':>9}",
        ]
        lines += [
            f"  {row['rule_id']:<36} {row['retained']:>9,} {row['due']:>7,} "
            f"{row['on_hold']:>8,} {row['actioned']:>9,}"
            for row in data["retention_by_rule"]
        ]
    lines += ["", "Last retention runs (audit.retention_runs):"]
    for run in data["last_runs"]:
        physical = ", file rewritten" if run["file_rewritten"] else ""
        lines.append(
            f"  {run['started_at']:%Y-%m-%d %H:%M} as_of {run['as_of']} "
            f"{run['requested_by']:<16} {run['outcome']:<12} {run['subjects']:>7,} subjects "
            f"{run['rows']:>10,} rows{physical}"
        )
    if not data["last_runs"]:
        lines.append("  (none yet)")
    pending = data["pending_rewrite"]
    if pending["runs"]:
        lines.append(
            f"  PENDING: {pending['runs']} applied run(s) since {pending['since']:%Y-%m-%d %H:%M} "
            "not yet rewritten: their erased values are still in the warehouse file's bytes "
            "until the next nightly retention run (02:00 London) or `tinytracker retention apply`"
        )
    lines += [
        "",
        f"Active legal holds: {data['active_legal_holds']} (tinytracker hold list)",
        "",
        "Where to look:",
        "  DPO reports     retention.rpt_retention_summary, retention.rpt_retention_forecast",
        "  policy          docs/retention-schedule.md, retention.retention_rules",
        "  audit           audit.retention_log, audit.retention_runs, audit.legal_holds",
        "  analysts        the read-only analyst database (tinytracker publish), docs/analysts.md",
        "  orchestration   make ui (Dagster), docs/operations.md",
    ]
    return "\n".join(lines)
