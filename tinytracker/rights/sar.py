"""Subject Access Request: everything the warehouse holds about one pupil or one employee.

The policy promises to "share data with the data subject at the request of this individual in
compliance with a Subject Access Request". The customer is the controller: it receives the
bundle and answers the person. So the bundle is written to a folder for the controller
(``sar.json``, machine-readable, one section per table, and ``sar.html``, a readable summary)
and never into the warehouse; ``audit.subject_requests`` records only that a request was
answered, when, and its due date.

What is "about" the person is decided in :mod:`tinytracker.rights.subjects` (the same rules
erasure uses). Each section is one SQL query over a warehouse relation, filtered by the
subject's scope; Python only serialises the result rows. Relations dbt derives (retention
status and plan, the pseudonymised intermediate tables) are included when built. Every table
that can hold a person's row is either a section or named in ``not_included`` with the reason.

A person already erased is not "unknown" while the warehouse still holds something about them:
the record of an author whose name the policy keeps (and the reports they wrote), setup-import
rows an erasure left, correspondence kept under its own rule. The bundle then lists exactly
that, says when and how the person was erased, and leaves out their anonymised record (which
nothing may link back to them). Only when nothing is held is the request refused.
"""

from __future__ import annotations

import datetime as dt
import decimal
import html
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tinytracker.core import policy, schema, warehouse
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.operator import operator
from tinytracker.core.warehouse import relation_exists
from tinytracker.rights import requests
from tinytracker.rights.subjects import (
    Subject,
    UnknownSubjectError,
    build_scope,
    erased_error,
    find_subject,
    quarantine_predicate,
    still_held,
)

SCHEMA_VERSION = "1.0"
JSON_NAME = "sar.json"
HTML_NAME = "sar.html"
SAR_KINDS = ("pupil", "employee")
INTERMEDIATE_SCHEMA = "intermediate"
HTML_ROWS_SHOWN = 500

IN_SCOPE = "select subject_id from rights_scope where subject_kind = '{kind}'"


@dataclass(frozen=True)
class Section:
    """One table's rows about the subject: the bundle's unit."""

    name: str
    description: str
    sql: str
    requires: tuple[str, str] | None = None
    """(schema, relation) dbt must have built; without it the section is listed as not built."""


@dataclass
class SectionRows:
    name: str
    description: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


@dataclass
class SarResult:
    """What a SAR wrote, and the request row that records it."""

    request: requests.SubjectRequest
    subject: Subject
    out_dir: Path
    sections: list[SectionRows] = field(default_factory=list)

    @property
    def json_path(self) -> Path:
        return self.out_dir / JSON_NAME

    @property
    def html_path(self) -> Path:
        return self.out_dir / HTML_NAME

    @property
    def row_counts(self) -> dict[str, int]:
        return {section.name: len(section.rows) for section in self.sections}


def _shared_sections(subject: Subject) -> list[Section]:
    """Sections of both kinds: correspondence, setup imports, quarantine, retention, holds."""
    kind = subject.kind
    return [
        Section(
            "raw.correspondence",
            "General correspondence about the person"
            + (" or about one of the pupil's contacts." if kind == "pupil" else "."),
            "select * from raw.correspondence where organisation_id = $org and "
            f"correspondence_id in ({IN_SCOPE.format(kind='correspondence')}) "
            "order by sent_on, correspondence_id",
        ),
        Section(
            "raw.setup_imports",
            "Rows of files sent during the initial setup whose payload names the person "
            "(rule: docs/subject-rights.md).",
            "select imports.* from raw.setup_imports as imports "
            "semi join rights_setup_rows using (import_id, row_number) "
            "where imports.organisation_id = $org order by import_id, row_number",
        ),
        Section(
            "raw.quarantine",
            "Rows the loader refused (they broke the landing contract) whose raw values name "
            "the person; kept as given.",
            f"select * from raw.quarantine as q where {quarantine_predicate(subject)} "
            "order by quarantined_at, file_name, line_number",
        ),
        Section(
            "retention.retention_status",
            "When each item about the person is deleted or anonymised, under which rule, and "
            "until when backups keep a copy.",
            "select status.* from retention.retention_status as status "
            "semi join rights_scope using (subject_kind, subject_id) "
            "where status.organisation_id = $org "
            "order by subject_kind, subject_id, due_on, rule_id",
            requires=("retention", "retention_status"),
        ),
        Section(
            "retention.retention_plan",
            "Deletions and anonymisations of the person's data that are due and planned for "
            "the next retention run.",
            "select plan.* from retention.retention_plan as plan "
            "semi join rights_scope using (subject_kind, subject_id) "
            "where plan.organisation_id = $org order by subject_kind, subject_id, step",
            requires=("retention", "retention_plan"),
        ),
        Section(
            "audit.legal_holds",
            "Legal holds placed on this person: while one stands nothing about them is "
            "deleted or anonymised.",
            f"select * from audit.legal_holds where organisation_id = $org "
            f"and subject_kind = '{kind}' and subject_id in ($id, $rid) order by placed_at",
        ),
        Section(
            "audit.legal_holds (organisation)",
            "Legal holds on the whole organisation, which also keep the person's data; the "
            "reason and the operators are withheld: they concern the organisation.",
            "select hold_id, organisation_id, subject_kind, placed_at, released_at "
            "from audit.legal_holds where organisation_id = $org "
            "and subject_kind = 'organisation' order by placed_at",
        ),
    ]


def _pupil_sections(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[Section]:
    key = "organisation_id = $org and pupil_id = $id"
    sections = [
        Section(
            "raw.pupils",
            "The pupil record as loaded from the organisation's MIS.",
            f"select * from raw.pupils where {key}",
        ),
        Section(
            "raw.pupil_contacts",
            "The pupil's named contacts (parents, carers).",
            f"select * from raw.pupil_contacts where {key} order by priority, contact_id",
        ),
        Section(
            "raw.attendance_sessions",
            "Every AM and PM register mark of the pupil.",
            f"select * from raw.attendance_sessions where {key} order by session_date, session",
        ),
        Section(
            "raw.assessments",
            "Statutory assessment results of the pupil.",
            f"select * from raw.assessments where {key} order by academic_year, assessment",
        ),
        Section(
            "raw.sen_records",
            "Special educational needs provision of the pupil.",
            f"select * from raw.sen_records where {key} order by start_date, provision",
        ),
        Section(
            "raw.reports",
            "Reports about the pupil and who wrote them.",
            f"select * from raw.reports where {key} order by issued_on, report_id",
        ),
        *_shared_sections(subject),
        Section(
            f"{INTERMEDIATE_SCHEMA}.int_pupil_keys",
            "The random key that stands for the pupil in the de-identified analytic layer.",
            f"select * from {INTERMEDIATE_SCHEMA}.int_pupil_keys where {key}",
            requires=(INTERMEDIATE_SCHEMA, "int_pupil_keys"),
        ),
    ]
    if relation_exists(con, INTERMEDIATE_SCHEMA, "int_pupil_keys"):
        # every de-identified table keyed by pupil_key: found from the catalogue, so a new
        # intermediate model is disclosed without changing this file
        keyed = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_columns() where schema_name = ? "
                "and column_name = 'pupil_key' and table_name <> 'int_pupil_keys' "
                "order by table_name",
                [INTERMEDIATE_SCHEMA],
            ).fetchall()
        ]
        sections += [
            Section(
                f"{INTERMEDIATE_SCHEMA}.{name}",
                "De-identified rows derived from the pupil's data (keyed by the pupil's "
                "random key, used only to build the aggregate marts).",
                f'select * from {INTERMEDIATE_SCHEMA}."{name}" where pupil_key in '
                f"(select pupil_key from {INTERMEDIATE_SCHEMA}.int_pupil_keys where {key}) "
                "order by all",
            )
            for name in keyed
        ]
    return sections


def _employee_sections(subject: Subject) -> list[Section]:
    """The employee's record and reports (``$rid``: after an erasure, the record kept under a
    surrogate because their name is kept as a report author), then the shared sections."""
    key = "organisation_id = $org and employee_id = $rid"
    record = (
        "The employee record as loaded from the organisation's MIS."
        if not subject.is_erased
        else "The employee record as kept after the erasure: the policy keeps the name of the "
        "author of historical reports; every other detail was cleared and the MIS id "
        "replaced by a random surrogate."
    )
    return [
        Section("raw.employees", record, f"select * from raw.employees where {key}"),
        Section(
            "raw.reports",
            "Reports the employee wrote (their name is kept on historical reports); the "
            "pupil each report is about is withheld: that is the pupil's data.",
            "select organisation_id, report_id, author_employee_id, title, issued_on, _extra, "
            "_load_id, _loaded_at from raw.reports where organisation_id = $org "
            "and author_employee_id = $rid order by issued_on, report_id",
        ),
        *_shared_sections(subject),
    ]


NOT_INCLUDED: dict[str, str] = {
    "marts.*": "aggregates of groups of at least var('min_cell_size') pupils, with small cells "
    "suppressed: no row is about one person.",
    "staging.*": "views that show the raw rows above, renamed; nothing more.",
    "raw.load_log": "one row per file and load with counts; names no person.",
    "raw.organisations": "the organisation's contract and consent; names no person.",
    "audit.retention_log, audit.retention_runs": "counts per retention run and rule; name no "
    "person.",
    "audit.erasure_suppressions, audit.erasure_identifiers": "keyed tokens of subjects "
    "already erased and of their identifiers; tokens cannot be read back into ids. For "
    "a person already erased the bundle's subject block says when and by which rule.",
    "anonymised records": "after an erasure the person's anonymised rows (attendance, "
    "assessments, characteristics under a random surrogate) are not "
    "theirs any more: nothing in the warehouse links them back to the "
    "person, so no request can find them.",
    "audit.subject_requests": "holds no subject id by design, so earlier requests about this "
    "person cannot be listed from the warehouse; the controller "
    "traces them by the request ids it was given.",
    "audit.shares, audit.organisation_changes": "organisation-level records; name no person.",
    "backups": "copies of the warehouse kept {backup_days} days hold the data as it was on "
    "their date.",
}


def not_included() -> dict[str, str]:
    """What the bundle leaves out and why, with the backup period the policy seed states."""
    days = policy.backup_retention_days()
    return {where: why.replace("{backup_days}", str(days)) for where, why in NOT_INCLUDED.items()}


def _sections(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[Section]:
    if subject.kind == "employee":
        return _employee_sections(subject)
    if subject.is_erased:  # no record of an erased pupil is theirs any more
        return _shared_sections(subject)
    return _pupil_sections(con, subject)


def _collect(
    con: duckdb.DuckDBPyConnection, subject: Subject
) -> tuple[list[SectionRows], list[str]]:
    """Run every section; returns the sections and the names of relations not built yet."""
    collected: list[SectionRows] = []
    not_built: list[str] = []
    for section in _sections(con, subject):
        if section.requires and not relation_exists(con, *section.requires):
            not_built.append(section.name)
            continue
        cursor = subject.query(con, section.sql)
        columns = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        rows = [
            [_plain(value, kind) for value, kind in zip(row, types)] for row in cursor.fetchall()
        ]
        collected.append(SectionRows(section.name, section.description, columns, types, rows))
    return collected, not_built


def _plain(value: Any, type_name: str) -> Any:
    """A JSON-ready value: ISO dates, JSON columns parsed, decimals as text (exact)."""
    if value is None:
        return None
    if type_name.upper() == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, "") for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, "") for k, v in value.items()}
    return value


def bundle(result: SarResult, not_built: Sequence[str], generated_at: dt.datetime) -> dict:
    """The machine-readable bundle (``sar.json``)."""
    request = result.request
    return {
        "schema_version": SCHEMA_VERSION,
        "request_id": request.request_id,
        "generated_at": generated_at.isoformat(timespec="seconds") + "Z",
        "received_on": request.received_on.isoformat(),
        "due_on": request.due_on.isoformat(),
        "handled_by": request.handled_by,
        "subject": {
            "kind": result.subject.label,
            "organisation_id": result.subject.organisation_id,
            "organisation_name": result.subject.organisation_name,
            "id": result.subject.subject_id,
            "erased_on": (
                result.subject.erased_on.isoformat() if result.subject.erased_on else None
            ),
            "erased_by": result.subject.erased_by,
            "record_id": result.subject.record_id,
        },
        "sections": {
            section.name: {
                "description": section.description,
                "columns": section.columns,
                "types": section.types,
                "row_count": len(section.rows),
                "rows": section.rows,
            }
            for section in result.sections
        },
        "not_built": list(not_built),
        "not_included": not_included(),
        "matching_rules": {
            "setup_imports": "payload keys compared case-insensitively without spaces or "
            "punctuation, with common variants (UPN, PupilId, Forename / "
            "FirstName / LegalForename, Surname / LastName, DOB / DateOfBirth "
            "as YYYY-MM-DD or DD/MM/YYYY, EmployeeId, TRN / TeacherNumber, "
            "Email). A pupil: the UPN (or a member whose whole value is it), "
            "the pupil id, or forename, surname and date of birth together. "
            "An employee: the employee id, teacher number, email, or forename "
            "and surname in a payload with no UPN and no date of birth. After "
            "an erasure: the keyed tokens of the same identifiers",
            "quarantine": "raw values name the person's id (pupil_id / employee_id), UPN, a "
            "contact of the pupil, correspondence about them, or a setup payload "
            "naming them",
        },
    }


# ---------------------------------------------------------------------------- readable summary

_STATUS_WORDS = {
    "retained": "kept until then",
    "due": "due now: the next retention run acts on it",
    "on_hold": "kept while a legal hold stands, whether or not it has fallen due",
    "actioned": "done",
}
_ITEM_WORDS = {
    "pupil": "the pupil record",
    "employee": "the employee record",
    "pupil_contact": "contact",
    "correspondence": "correspondence item",
    "setup_import": "setup import",
}


def _retention_sentences(result: SarResult) -> list[str]:
    section = next((s for s in result.sections if s.name == "retention.retention_status"), None)
    if section is None:
        return ["Retention status is not built yet (run tinytracker build)."]
    sentences = []
    for values in section.rows:
        row = dict(zip(section.columns, values))
        if not row.get("is_winning_rule"):
            continue
        item = _ITEM_WORDS.get(row["subject_kind"], row["subject_kind"])
        if row["subject_kind"] not in ("pupil", "employee"):
            item = f"{item} {row['subject_id']}"
        verb = "deleted" if row["action"] == "delete" else "anonymised"
        if row["status"] == "actioned":
            when = f"was {verb} on {row['actioned_on']}"
        elif row["due_on"] is None:
            when = (
                f"is kept: it will be {verb} under rule {row['rule_id']} once its trigger "
                "happens (no date yet)"
            )
        else:
            when = (
                f"is to be {verb} on {row['due_on']} under rule {row['rule_id']} "
                f"({_STATUS_WORDS.get(row['status'], row['status'])})"
            )
        backups = (
            f"; backups keep a copy until {row['backups_clear_on']}"
            if row.get("backups_clear_on")
            else ""
        )
        sentences.append(f"{item[0].upper()}{item[1:]} {when}{backups}.")
    return sentences or ["No retention rule applies yet."]


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        return html.escape("" if value is None else str(value))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: dict, result: SarResult) -> str:
    """The readable summary (``sar.html``): who, what is held, retention in plain words."""
    subject = result.subject
    title = (
        f"Subject access request: {subject.label} {subject.subject_id} of "
        f"{subject.organisation_name or subject.organisation_id}"
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:90%;text-align:left;vertical-align:top}"
        "th{background:#eee}summary{cursor:pointer;margin:.3em 0}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        _table(
            ["request id", "received", "due", "generated", "prepared by"],
            [
                [
                    data["request_id"],
                    data["received_on"],
                    data["due_on"],
                    data["generated_at"],
                    data["handled_by"],
                ]
            ],
        ),
        "<p>This bundle is for the data controller (the organisation). The complete data is in "
        f"<code>{JSON_NAME}</code> beside this file (schema version "
        f"{html.escape(SCHEMA_VERSION)}); this page summarises it.</p>",
    ]
    if subject.is_erased:
        parts.append(
            f"<p><b>This {html.escape(subject.label)} was erased on "
            f"{html.escape(str(subject.erased_on))} ({html.escape(str(subject.erased_by))}).</b> "
            "What follows is what the warehouse still holds about them; their anonymised "
            "record is not included: nothing links it back to them.</p>"
        )
    main = next((s for s in result.sections if s.name in ("raw.pupils", "raw.employees")), None)
    if main and main.rows:
        parts += [
            "<h2>Personal details</h2>",
            _table(["field", "value"], list(zip(main.columns, main.rows[0]))),
        ]
    parts += [
        "<h2>What the warehouse holds</h2>",
        _table(
            ["table", "rows", "what it is"],
            [[s.name, len(s.rows), s.description] for s in result.sections],
        ),
    ]
    parts += ["<h2>Retention: when each item is deleted or anonymised</h2><ul>"]
    parts += [f"<li>{html.escape(s)}</li>" for s in _retention_sentences(result)]
    parts += ["</ul>"]
    holds = [s for s in result.sections if s.name.startswith("audit.legal_holds")]
    standing = sum(
        1 for s in holds for row in s.rows if dict(zip(s.columns, row)).get("released_at") is None
    )
    parts += [
        "<h2>Legal holds</h2>",
        f"<p>{standing} legal hold(s) standing that keep this person's data from deletion "
        "or anonymisation." + (" None." if not standing else "") + "</p>",
    ]
    parts += ["<h2>Every row</h2>"]
    for section in result.sections:
        shown = section.rows[:HTML_ROWS_SHOWN]
        more = (
            f" (first {HTML_ROWS_SHOWN} shown; all in {JSON_NAME})"
            if len(section.rows) > HTML_ROWS_SHOWN
            else ""
        )
        parts.append(
            f"<details><summary>{html.escape(section.name)}: {len(section.rows)} "
            f"row(s){more}</summary><p>{html.escape(section.description)}</p>"
            f"{_table(section.columns, shown) if shown else ''}</details>"
        )
    parts += ["<h2>Not included, and why</h2><ul>"]
    parts += [
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in not_included().items()
    ]
    if data["not_built"]:
        parts.append(
            "<li><b>not built yet</b>: "
            + html.escape(", ".join(data["not_built"]))
            + " (run tinytracker build, then repeat the request)</li>"
        )
    parts += ["</ul></body></html>"]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------ request


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TinyTrackerError(
            f"--out {out} exists and is not an empty folder: give a new folder (a SAR bundle "
            "is never written over other files)"
        )


def _write(path: Path, text: str) -> None:
    pending = path.with_name(path.name + ".partial")
    pending.write_text(text, encoding="utf-8")
    os.replace(pending, path)


def subject_access_request(
    kind: str,
    organisation_id: str,
    subject_id: str,
    out: Path,
    *,
    received_on: dt.date | None = None,
    handled_by: str | None = None,
) -> SarResult:
    """Write the SAR bundle for one pupil or employee into the new folder ``out``.

    Raises :class:`UnknownSubjectError` (recorded in audit.subject_requests, no folder
    written) when the warehouse identifies no such person.
    """
    if kind not in SAR_KINDS:
        raise TinyTrackerError(
            f"a subject access request is about a pupil or an employee, not {kind!r}"
        )
    out = Path(out)
    _check_out_dir(out)
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
        request = requests.new_request(
            "access", kind, organisation_id, received_on, operator(handled_by)
        )
        try:
            subject = find_subject(con, kind, organisation_id, subject_id, erased_ok=True)
            if subject.is_erased:
                held = still_held(con, subject)
                if not held:
                    raise erased_error(subject, held)
        except UnknownSubjectError as exc:
            requests.record(con, request, exc.status)
            raise
        build_scope(con, subject)
        sections, not_built = _collect(con, subject)
        result = SarResult(request=request, subject=subject, out_dir=out, sections=sections)
        con.execute("begin transaction")
        try:
            result.request = requests.record(con, request, "completed")
            data = bundle(result, not_built, dt.datetime.now(dt.UTC).replace(tzinfo=None))
            out.mkdir(parents=True, exist_ok=True)
            _write(result.json_path, json.dumps(data, ensure_ascii=False, indent=1))
            _write(result.html_path, render_html(data, result))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            for leftover in (result.json_path, result.html_path):
                leftover.unlink(missing_ok=True)
            raise
    finally:
        con.close()
    return result


def format_result(result: SarResult) -> str:
    """What the CLI prints: where the bundle is, rows per section, the request and its due date."""
    subject = result.subject
    erased = (
        f" (erased on {subject.erased_on}, {subject.erased_by}: what is still held)"
        if subject.is_erased
        else ""
    )
    lines = [
        f"subject access request {result.request.request_id}: {subject.label} "
        f"{subject.subject_id} of {subject.organisation_id}{erased}",
        f"  received {result.request.received_on}, due {result.request.due_on}, completed "
        f"{result.request.completed_on}",
        f"  bundle: {result.json_path} and {result.html_path} (personal data: give it to the "
        "controller only; it is not kept in the warehouse)",
    ]
    width = max(len(s.name) for s in result.sections)
    lines += [f"  {s.name:<{width}}  {len(s.rows):>7,} row(s)" for s in result.sections]
    return "\n".join(lines)
