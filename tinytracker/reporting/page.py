"""The DPO page: one self-contained HTML file (styles and images inline, nothing loaded).

Sections follow what a data-protection officer is asked: what is held, what falls due, what
was done, what is held back and why, how subject requests went, what was shared, what the
landing kept out, whether every check passed, and the record of processing. Every figure is
a value read by :mod:`tinytracker.reporting.data`; headline figures carry
``data-headline``/``data-value`` attributes so a test can compare them with the warehouse.
"""

from __future__ import annotations

import datetime as dt
import html

from tinytracker.reporting import ropa
from tinytracker.reporting.data import ReportData, headline_labels
from tinytracker.reporting.html_parts import alert, check_table, esc, figure, fmt, table
from tinytracker.reporting.plots import Plot
from tinytracker.reporting.style import CSS

SECTIONS = (
    ("summary", "At a glance"),
    ("held", "Held now"),
    ("due", "Due"),
    ("done", "Done"),
    ("held-back", "Held back"),
    ("requests", "Subject requests"),
    ("sharing", "Sharing"),
    ("landing", "Landing"),
    ("checks", "Checks"),
    ("ropa", "Record of processing"),
)
# the page section that shows what a check's layer guards
CHECK_SECTIONS = {
    "retention": "due",
    "sharing": "sharing",
    "staging": "landing",
    "source": "landing",
    "intermediate": "ropa",
    "marts": "ropa",
    "reporting": "ropa",
    "seed": "ropa",
}


def _headlines(data: ReportData) -> str:
    labels = headline_labels()
    warn = {"overdue_subjects", "late_requests", "checks_failed"}
    items = "".join(
        f"<div class='headline{' bad' if key in warn and value else ''}' data-headline='{key}'>"
        f"<dd data-value='{value}'>{value:,}</dd><dt>{html.escape(labels[key])}</dt></div>"
        for key, value in data.headlines.items()
    )
    return f"<dl class='headlines'>{items}</dl>"


def _held(data: ReportData, plots: dict[str, Plot]) -> str:
    return (
        figure(plots["held"])
        + "<h3>Subjects by kind</h3>"
        + table(
            data.table("held_by_kind"),
            [
                ("subject_kind", "kind"),
                ("identified", "held with identity"),
                ("on_hold", "of which on hold"),
                ("anonymised", "anonymised (kept)"),
                ("deleted", "deleted"),
            ],
            "The warehouse holds no subject.",
        )
        + "<h3>Rows by landing table</h3>"
        + table(
            data.table("rows_by_table"),
            [
                ("table_name", "table"),
                ("subject_kind", "about"),
                ("row_count", "rows"),
                ("anonymised_row_count", "of which anonymised"),
            ],
            "The landing tables are empty.",
        )
    )


def _due(data: ReportData, plots: dict[str, Plot]) -> str:
    overdue = data.table("overdue")
    status = (
        alert("Nothing is overdue: every subject past its due date is actioned or held.", ok=True)
        if not overdue
        else alert(
            f"{data.headlines['overdue_subjects']:,} subject(s) are overdue: a retention run "
            "should have actioned them (table below: which rule, since when).",
            ok=False,
        )
    )
    window = (
        f"From {fmt(data.evaluation.forecast_starts_on)} to "
        f"{fmt(data.evaluation.forecast_ends_on)}, counted once under the rule that will act."
    )
    return (
        status
        + figure(plots["due"])
        + f"<p>{html.escape(window)}</p>"
        + table(
            data.table("due_by_rule"),
            [
                ("rule_id", "rule"),
                ("action", "action"),
                ("subjects", "subjects due"),
                ("held", "of which held"),
                ("first_due_on", "first due on"),
            ],
            "Nothing falls due in the next twelve months.",
        )
        + "<h3>Overdue</h3>"
        + table(
            overdue,
            [
                ("organisation_id", "organisation"),
                ("rule_id", "rule"),
                ("overdue_subject_count", "subjects"),
                ("overdue_since", "overdue since"),
                ("max_days_overdue", "days"),
            ],
            "None.",
        )
    )


def _done(data: ReportData, plots: dict[str, Plot]) -> str:
    runs = (
        "<p class='note'>Retention runs are logged for the whole service (the audit log has "
        "no organisation per row): see the service's page.</p>"
        if data.organisation_id
        else table(
            data.table("retention_runs"),
            [
                ("run_on", "run on"),
                ("requested_by", "requested by"),
                ("is_erasure_request", "erasure request"),
                ("rule_id", "rule"),
                ("rows_affected", "rows"),
                ("physically_erased_at", "file rewritten"),
                ("backups_clear_on", "clears from backups"),
                ("is_cleared_from_backups", "cleared"),
            ],
            "No retention run changed anything in the last 24 months.",
        )
    )
    return (
        figure(plots["done"])
        + table(
            data.table("done_by_rule"),
            [
                ("rule_id", "rule or request"),
                ("is_erasure_request", "erasure request"),
                ("subjects", "subjects"),
                ("first_actioned_on", "first"),
                ("last_actioned_on", "last"),
                ("backups_clear_on", "clears from backups on"),
            ],
            "Nothing was anonymised or deleted in the last 24 months.",
        )
        + "<h3>Retention runs (last 40 rule rows)</h3>"
        + runs
    )


def _held_back(data: ReportData) -> str:
    return (
        "<h3>Standing legal holds</h3>"
        + table(
            data.table("legal_holds"),
            [
                ("hold_id", "hold"),
                ("organisation_id", "organisation"),
                ("held_subject_kind", "on"),
                ("placed_by", "placed by"),
                ("placed_on", "since"),
                ("days_standing", "days"),
                ("reason_shown", "reason"),
                ("covered_subject_count", "subjects kept"),
                ("held_past_due_subject_count", "of which past due"),
            ],
            "No legal hold stands.",
        )
        + "<h3>Past due but held</h3>"
        + table(
            data.table("held_past_due"),
            [
                ("organisation_id", "organisation"),
                ("rule_id", "rule"),
                ("held_past_due_subject_count", "subjects"),
                ("held_past_due_since", "due since"),
            ],
            "No subject is kept past its due date.",
        )
    )


def _requests(data: ReportData, plots: dict[str, Plot]) -> str:
    late = data.headlines["late_requests"]
    return (
        (
            alert(f"{late:,} request(s) late: answered or still open past the deadline.", ok=False)
            if late
            else alert("Every request was answered within one month (GDPR Art. 12(3)).", ok=True)
        )
        + figure(plots["requests"])
        + table(
            data.table("requests"),
            [
                ("request_id", "request"),
                ("request_kind", "kind"),
                ("subject_kind", "about a"),
                ("organisation_id", "organisation"),
                ("received_on", "received"),
                ("due_on", "due"),
                ("completed_on", "answered"),
                ("status", "outcome"),
                ("is_late", "late"),
                ("days_late", "days late"),
            ],
            "No subject access or erasure request in the last 24 months.",
        )
    )


def _sharing(data: ReportData) -> str:
    members = [r for r in data.table("organisations") if r["trust_id"]]
    return (
        table(
            data.table("shares"),
            [
                ("exported_on", "exported"),
                ("trust_id", "trust"),
                ("share_id", "export"),
                ("organisation_id", "organisation"),
                ("is_included", "included"),
                ("left_out_because", "left out because"),
                ("rows_exported", "rows in export"),
            ],
            "Nothing was shared with an academy trust in the last 24 months.",
        )
        + "<h3>Trust members today</h3>"
        + table(
            members,
            [
                ("trust_id", "trust"),
                ("organisation_id", "organisation"),
                ("has_trust_sharing_consent", "consent to share"),
                ("is_contract_ended", "contract ended"),
            ],
            "No organisation belongs to an academy trust.",
        )
    )


def _landing(data: ReportData, plots: dict[str, Plot]) -> str:
    revoked = [r for r in data.table("organisations") if r["is_permission_revoked"]]
    loads = (
        ""
        if data.organisation_id
        else "<h3>Loads per month</h3>"
        + table(
            data.table("loads_by_month"),
            [
                ("month_starts_on", "month"),
                ("load_count", "loads"),
                ("file_count", "files"),
                ("rows_read", "rows read"),
                ("rows_quarantined", "quarantined"),
                ("rows_refused", "refused (permission revoked)"),
                ("rows_suppressed", "suppressed (already erased)"),
            ],
            "No load in the last 24 months.",
        )
    )
    return (
        figure(plots["landing"])
        + table(
            data.table("quarantine_by_rule"),
            [
                ("landing_file", "file"),
                ("rule", "rule"),
                ("row_count", "rows"),
                ("first_month", "first month"),
                ("last_month", "last month"),
            ],
            "No row was quarantined in the last 24 months.",
        )
        + "<h3>MIS permission revoked</h3>"
        + table(
            revoked,
            [
                ("organisation_id", "organisation"),
                ("organisation_name", "name"),
                ("last_revoked_at", "revoked (tinytracker organisation)"),
                ("last_granted_at", "last granted"),
            ],
            "Every organisation's MIS permission is granted.",
        )
        + loads
    )


def _checks(data: ReportData, plots: dict[str, Plot]) -> str:
    (run,) = data.table("checks_runs")
    failed = data.table("checks_not_passed")
    summary = (
        f"{run['passed']:,} of {run['checks']:,} checks passed in their last run "
        f"(results from {fmt(run['oldest'])} to {fmt(run['newest'])} UTC)."
    )
    columns = [
        ("status", "status"),
        ("test_name", "check"),
        ("guards", "guards"),
        ("what_it_guards", "what it guards"),
        ("executed_at", "last run (UTC)"),
    ]
    return (
        alert(summary, ok=not failed and bool(run["checks"]))
        + figure(plots["checks"])
        + "<h3>Not passed</h3>"
        + check_table(failed, columns, "Every check passed.", CHECK_SECTIONS)
        + "<h3>Compliance checks</h3>"
        + check_table(data.table("checks_compliance"), columns, "No result yet.", CHECK_SECTIONS)
        + "<h3>Structural checks (not null, unique, accepted values, relationships)</h3>"
        + table(
            data.table("checks_structure"),
            [
                ("guarded_layer", "layer"),
                ("guarded_relation", "relation"),
                ("checks", "checks"),
                ("passed", "passed"),
                ("last_executed_at", "last run"),
            ],
            "No result yet.",
        )
    )


def render(data: ReportData, plots: dict[str, Plot], generated_at: dt.datetime) -> str:
    scope = (
        f"{data.organisation_id} {data.organisation_name or ''}".strip()
        if data.organisation_id
        else "the whole service"
    )
    title = f"Data-protection report: {scope}, {fmt(data.evaluation.as_of)}"
    nav = "".join(f"<li><a href='#{key}'>{html.escape(name)}</a></li>" for key, name in SECTIONS)
    bodies = {
        "summary": _headlines(data),
        "held": _held(data, plots),
        "due": _due(data, plots),
        "done": _done(data, plots),
        "held-back": _held_back(data),
        "requests": _requests(data, plots),
        "sharing": _sharing(data),
        "landing": _landing(data, plots),
        "checks": _checks(data, plots),
        "ropa": ropa.html_section(data.table("ropa"), data.table("ropa_measures")),
    }
    sections = "".join(
        f"<section id='{key}'><h2>{html.escape(name)}</h2>{bodies[key]}</section>"
        for key, name in SECTIONS
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        f"<p>Evaluated on <b>{esc(data.evaluation.as_of)}</b>, the date the retention models "
        f"are built for; generated {esc(generated_at)} UTC by <code>tinytracker report "
        "--html</code>. Every figure is read with SQL from the warehouse's reporting "
        "relations (models/reporting); no name, UPN or MIS id of a pupil, contact or employee "
        f"appears on this page.</p><nav><ol>{nav}</ol></nav></header>"
        f"<main>{sections}</main></body></html>"
    )
