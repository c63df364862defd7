"""What the DPO page shows, read with SQL from the reporting models (models/reporting/).

Every figure on the page is a value of a ``reporting.rpt_dpo_*`` or ``reporting.rpt_ropa*``
relation, or a ``sum``/``count`` over one computed here in SQL: the page never counts rows in
Python, so the page and the warehouse cannot disagree. Read-only: the warehouse is opened
without the write lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tinytracker.core.errors import RefusedError, TinyTrackerError
from tinytracker.core.warehouse import relation_exists, scalar

SCHEMA = "reporting"
Row = dict[str, Any]

# The page's tables: name -> SQL over the reporting relations (sums grouped in SQL). `{org}`
# becomes "and organisation_id = ?" on a page for one organisation; a query without it is
# service-wide (the audit log and load log have no organisation per row; checks and the
# record of processing are the service's).
TABLE_QUERIES: dict[str, str] = {
    "held_by_kind": """
        select subject_kind, sum(identified_subject_count) as identified,
            sum(on_hold_subject_count) as on_hold, sum(anonymised_subject_count) as anonymised,
            sum(deleted_subject_count) as deleted
        from rpt_dpo_subjects_held where true {org} group by all order by subject_kind""",
    "rows_by_table": """
        select table_name, subject_kind, sum(row_count) as row_count,
            sum(anonymised_row_count) as anonymised_row_count
        from rpt_dpo_rows_held where true {org} group by all order by table_name""",
    "due_by_rule": """
        select rule_id, action, sum(subject_count) as subjects,
            sum(held_subject_count) as held, min(first_due_on) as first_due_on
        from rpt_dpo_due_by_month where true {org} group by all order by rule_id""",
    "overdue": """
        select organisation_id, rule_id, action, overdue_subject_count, overdue_since,
            max_days_overdue
        from rpt_dpo_overdue where overdue_subject_count > 0 {org}
        order by overdue_since, organisation_id, rule_id""",
    "done_by_rule": """
        select rule_id, is_erasure_request, sum(subject_count) as subjects,
            min(first_actioned_on) as first_actioned_on,
            max(last_actioned_on) as last_actioned_on, max(backups_clear_on) as backups_clear_on
        from rpt_dpo_actions_by_month where true {org} group by all
        order by last_actioned_on desc, rule_id""",
    "retention_runs": """
        select run_on, run_id, requested_by, is_erasure_request, rule_id, table_count,
            rows_affected,
            coalesce(strftime(physically_erased_at, '%Y-%m-%d %H:%M'),
                'pending: next nightly run') as physically_erased_at,
            backups_clear_on, is_cleared_from_backups
        from rpt_dpo_retention_runs order by run_on desc, run_id, rule_id limit 40""",
    "legal_holds": """
        select * from rpt_dpo_legal_holds where true {org} order by placed_on, hold_id""",
    "held_past_due": """
        select organisation_id, rule_id, action, held_past_due_subject_count,
            held_past_due_since
        from rpt_dpo_overdue where held_past_due_subject_count > 0 {org}
        order by held_past_due_since, organisation_id, rule_id""",
    "requests": """
        select request_id, request_kind, subject_kind, organisation_id, received_on, due_on,
            completed_on, status, is_answered, is_late, days_late
        from rpt_dpo_subject_requests where true {org}
        order by is_late desc, received_on desc, request_id""",
    "shares": """
        select share_id, trust_id, exported_on, members_as_of, rows_exported, organisation_id,
            is_included, left_out_because
        from rpt_dpo_shares where true {org}
        order by exported_on desc, share_id, is_included desc, organisation_id""",
    "quarantine_by_rule": """
        select landing_file, rule, sum(row_count) as row_count,
            min(month_starts_on) as first_month, max(month_starts_on) as last_month
        from rpt_dpo_quarantine_by_month where true {org} group by all
        order by row_count desc, landing_file, rule""",
    "loads_by_month": """
        select * from rpt_dpo_loads_by_month order by month_starts_on desc""",
    "organisations": """
        select * from rpt_dpo_organisations where true {org} order by organisation_id""",
    "checks_not_passed": """
        select * from rpt_dpo_checks where not is_passed
        order by guarded_layer, guarded_relation, test_name""",
    "checks_compliance": """
        select * from rpt_dpo_checks where not is_structural_test
        order by guarded_layer, guarded_relation, test_name""",
    "checks_structure": """
        select guarded_layer, guarded_relation, count(*) as checks,
            count(case when is_passed then 1 end) as passed,
            max(executed_at) as last_executed_at
        from rpt_dpo_checks where is_structural_test
        group by all order by guarded_layer, guarded_relation""",
    "checks_runs": """
        select count(*) as checks, count(case when is_passed then 1 end) as passed,
            min(executed_at) as oldest, max(executed_at) as newest
        from rpt_dpo_checks""",
    "ropa": "select * from rpt_ropa order by record_order",
    "ropa_measures": "select * from rpt_ropa_measures order by measure_id",
}
REQUIRED = (
    "rpt_dpo_evaluation", "rpt_dpo_subjects_held", "rpt_dpo_rows_held", "rpt_dpo_due_by_month",
    "rpt_dpo_overdue", "rpt_dpo_actions_by_month", "rpt_dpo_retention_runs",
    "rpt_dpo_legal_holds", "rpt_dpo_subject_requests", "rpt_dpo_shares",
    "rpt_dpo_quarantine_by_month", "rpt_dpo_loads_by_month", "rpt_dpo_organisations",
    "rpt_dpo_checks", "rpt_ropa", "rpt_ropa_measures",
)  # fmt: skip

# Headline figures: name -> (label, SQL over the reporting relations). `{org}` becomes a
# filter on organisation_id when the page is for one organisation.
HEADLINES: dict[str, tuple[str, str]] = {
    "identified_pupils": (
        "pupils held with their identity",
        "select coalesce(sum(identified_subject_count), 0) from rpt_dpo_subjects_held "
        "where subject_kind = 'pupil' {org}",
    ),
    "identified_subjects": (
        "people and items held with their identity (pupils, contacts, employees, "
        "correspondence, setup files)",
        "select coalesce(sum(identified_subject_count), 0) "
        "from rpt_dpo_subjects_held where true {org}",
    ),
    "rows_held": (
        "rows in the landing tables",
        "select coalesce(sum(row_count), 0) from rpt_dpo_rows_held where true {org}",
    ),
    "due_next_12_months": (
        "subjects falling due in the next 12 months",
        "select coalesce(sum(subject_count), 0) from rpt_dpo_due_by_month where true {org}",
    ),
    "overdue_subjects": (
        "subjects overdue (should be 0)",
        "select coalesce(sum(overdue_subject_count), 0) from rpt_dpo_overdue where true {org}",
    ),
    "held_past_due": (
        "subjects past due but kept by a legal hold",
        "select coalesce(sum(held_past_due_subject_count), 0) from rpt_dpo_overdue "
        "where true {org}",
    ),
    "standing_holds": (
        "standing legal holds",
        "select count(*) from rpt_dpo_legal_holds where true {org}",
    ),
    "actioned_24_months": (
        "subjects anonymised or deleted in the last 24 months",
        "select coalesce(sum(subject_count), 0) from rpt_dpo_actions_by_month where true {org}",
    ),
    "open_requests": (
        "subject requests open",
        "select count(*) from rpt_dpo_subject_requests where not is_answered {org}",
    ),
    "late_requests": (
        "subject requests late (answered or open past the one-month deadline)",
        "select count(*) from rpt_dpo_subject_requests where is_late {org}",
    ),
    "quarantined_24_months": (
        "rows quarantined in the last 24 months",
        "select coalesce(sum(row_count), 0) from rpt_dpo_quarantine_by_month where true {org}",
    ),
    "checks_failed": (
        "compliance checks not passed in their last run",
        "select count(*) from rpt_dpo_checks where not is_passed",
    ),
    "checks_total": (
        "compliance checks with a result",
        "select count(*) from rpt_dpo_checks",
    ),
}


# What each plot draws: (category, series, value) rows, grouped in SQL so a plot only places
# values. `{org}` as for HEADLINES.
PLOT_QUERIES: dict[str, str] = {
    "held": "select organisation_id as category, subject_kind as series, "
    "sum(identified_subject_count) as value, false as is_marked "
    "from rpt_dpo_subjects_held where true {org} group by all",
    "due": "select month_starts_on as category, rule_id as series, sum(subject_count) as value, "
    "false as is_marked from rpt_dpo_due_by_month where true {org} group by all",
    "done": "select month_starts_on as category, rule_id as series, sum(subject_count) as value, "
    "bool_or(is_erasure_request) as is_marked from rpt_dpo_actions_by_month "
    "where true {org} group by all",
    "requests": "select month_starts_on as category, request_kind || case when is_late "
    "then ' (late)' else ' (on time)' end as series, count(*) as value, "
    "bool_or(is_late) as is_marked from rpt_dpo_subject_requests "
    "where true {org} group by all",
    "landing": "select month_starts_on as category, rule as series, sum(row_count) as value, "
    "false as is_marked from rpt_dpo_quarantine_by_month where true {org} "
    "group by all",
    "checks": "select coalesce(guarded_layer, 'other') as category, status as series, "
    "count(*) as value, status <> 'pass' as is_marked from rpt_dpo_checks "
    "group by all",
}


@dataclass(frozen=True)
class Evaluation:
    as_of: dt.date
    forecast_starts_on: dt.date
    forecast_ends_on: dt.date
    history_starts_on: dt.date


@dataclass
class ReportData:
    """Everything the page shows, as rows of the reporting relations."""

    evaluation: Evaluation
    organisation_id: str | None
    organisation_name: str | None
    headlines: dict[str, int]
    tables: dict[str, list[Row]] = field(default_factory=dict)
    plot_rows: dict[str, list[Row]] = field(default_factory=dict)

    def table(self, name: str) -> list[Row]:
        """Rows of one of TABLE_QUERIES."""
        return self.tables[name]


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[Row]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values)) for values in cursor.fetchall()]


def _require_models(con: duckdb.DuckDBPyConnection) -> None:
    missing = [name for name in REQUIRED if not relation_exists(con, SCHEMA, name)]
    if missing:
        raise TinyTrackerError(
            f"the warehouse has no {SCHEMA}.{missing[0]} (and {len(missing) - 1} more): build "
            "the models first (tinytracker build --as-of DATE)"
        )


def evaluation(con: duckdb.DuckDBPyConnection) -> Evaluation:
    """The date the reporting models are evaluated on, after checking that the retention
    statuses they count were built for the same date."""
    (row,) = _fetch(con, f"select * from {SCHEMA}.rpt_dpo_evaluation", [])
    built = Evaluation(**row)
    statuses = [
        day
        for (day,) in con.execute(
            "select distinct as_of from retention.retention_status order by 1"
        ).fetchall()
    ]
    if statuses and statuses != [built.as_of]:
        listed = ", ".join(str(day) for day in statuses)
        raise TinyTrackerError(
            f"retention.retention_status is built for {listed} but the reporting models for "
            f"{built.as_of} (a retention run for another date since the last build): build "
            "both for one date (tinytracker build --as-of DATE) and report again"
        )
    return built


def _snapshot(con: duckdb.DuckDBPyConnection) -> None:
    """Copy every reporting relation into a temporary table of the same name, once.

    The relations are views over the live warehouse; the page reads each of them several
    times (headlines, tables, plots). One copy per page makes every figure come from the
    same read, and evaluates each view once instead of once per query.
    """
    for name in REQUIRED:
        con.execute(f"create or replace temp table {name} as select * from {SCHEMA}.{name}")


def load(
    con: duckdb.DuckDBPyConnection,
    as_of: dt.date | None = None,
    organisation_id: str | None = None,
) -> ReportData:
    """Read every section for the whole service or one organisation.

    ``as_of`` must be the date the retention models were built for: the statuses, the
    forecast and the overdue counts are that day's, and a page labelled with another date
    would say something the warehouse does not.
    """
    _require_models(con)
    built = evaluation(con)
    if as_of is not None and as_of != built.as_of:
        raise TinyTrackerError(
            f"the warehouse's retention models are built for {built.as_of}, not {as_of}: "
            f"build them for that date first (tinytracker build --as-of {as_of}), or leave "
            "out --as-of to report on the date they are built for"
        )
    try:
        return _read(con, built, organisation_id)
    except duckdb.Error as exc:
        raise TinyTrackerError(
            f"the reporting models do not match this version of tinytracker ({exc}): build "
            f"them again (tinytracker build --as-of {built.as_of})"
        ) from exc


def _read(
    con: duckdb.DuckDBPyConnection, built: Evaluation, organisation_id: str | None
) -> ReportData:
    _snapshot(con)
    name = None
    if organisation_id is not None:
        found = _fetch(
            con,
            "select organisation_name from rpt_dpo_organisations where organisation_id = ?",
            [organisation_id],
        )
        if not found:
            raise RefusedError(
                f"unknown organisation {organisation_id!r}: it is not in the warehouse "
                "(raw.organisations)"
            )
        name = found[0]["organisation_name"]
    params = [organisation_id] if organisation_id is not None else []
    org_filter = "and organisation_id = ?" if organisation_id is not None else ""
    headlines = {}
    for key, (_, sql) in HEADLINES.items():
        filtered = "{org}" in sql
        headlines[key] = int(scalar(con, sql.format(org=org_filter), params if filtered else []))
    plot_rows = {}
    for key, sql in PLOT_QUERIES.items():
        filtered = "{org}" in sql
        plot_rows[key] = _fetch(con, sql.format(org=org_filter), params if filtered else [])
    tables = {}
    for key, sql in TABLE_QUERIES.items():
        filtered = "{org}" in sql
        tables[key] = _fetch(con, sql.format(org=org_filter), params if filtered else [])
    return ReportData(built, organisation_id, name, headlines, tables, plot_rows)


def headline_labels() -> dict[str, str]:
    return {key: label for key, (label, _) in HEADLINES.items()}
