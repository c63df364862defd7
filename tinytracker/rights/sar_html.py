"""The readable summary of a SAR bundle (``sar.html``): who, what is held, retention in words.

It summarises ``sar.json`` for the controller; the JSON beside it stays the complete record.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from tinytracker.rights.sar_bundle import JSON_NAME, SCHEMA_VERSION, SarResult, SectionRows
from tinytracker.rights.sar_labels import is_bookkeeping, label, readable
from tinytracker.rights.sar_sections import not_included

HTML_ROWS_SHOWN = 500


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
            when = f"was {verb} on {_day(row['actioned_on'])}"
        elif row["due_on"] is None:
            when = (
                f"is kept: it will be {verb} under rule {row['rule_id']} once its trigger "
                "happens (no date yet)"
            )
        else:
            when = (
                f"is to be {verb} on {_day(row['due_on'])} under rule {row['rule_id']} "
                f"({_STATUS_WORDS.get(row['status'], row['status'])})"
            )
        backups = (
            f"; backups keep a copy until {_day(row['backups_clear_on'])}"
            if row.get("backups_clear_on")
            else ""
        )
        sentences.append(f"{item[0].upper()}{item[1:]} {when}{backups}.")
    return sentences or ["No retention rule applies yet."]


def _day(value: Any) -> str:
    return readable("", value) if value is not None else ""


def _readable_rows(section: SectionRows, rows: Sequence[Sequence[Any]]) -> tuple[list[str], list]:
    """A section's columns as labels and its values in words, bookkeeping columns left out
    (they stay in sar.json)."""
    kept = [i for i, column in enumerate(section.columns) if not is_bookkeeping(column)]
    labels = [label(section.columns[i]) for i in kept]
    return labels, [[readable(section.columns[i], row[i]) for i in kept] for row in rows]


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
                    readable("", data["received_on"]),
                    readable("", data["due_on"]),
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
        labels, (values,) = _readable_rows(main, main.rows[:1])
        parts += [
            "<h2>Personal details</h2>",
            _table(["field", "value"], [[k, v] for k, v in zip(labels, values) if v != ""]),
            "<p>Codes are shown with their meaning; empty fields are left out. "
            f"{JSON_NAME} holds every field, the bookkeeping of the warehouse included.</p>",
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
            f"{_table(*_readable_rows(section, shown)) if shown else ''}</details>"
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
