"""The record of processing activities (GDPR Art. 30) as a page section, ``ropa.csv`` and
``ropa.md``.

The record itself is ``reporting.rpt_ropa`` (one row per activity, generated from the YAML
classes, the policy seeds and the warehouse) and ``reporting.rpt_ropa_measures``; this module
only lays those rows out. The CSV has exactly the relation's columns, so a spreadsheet or a
register tool can import it as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
from pathlib import Path

from tinytracker.reporting.data import Row

CSV_NAME = "ropa.csv"
MARKDOWN_NAME = "ropa.md"
FIELDS = (
    ("activity", "Activity"),
    ("controller", "Controller"),
    ("processor", "Processor"),
    ("data_subjects", "Data subjects"),
    ("data_categories", "Categories of personal data"),
    ("personal_data_columns", "Where they are held (column classes from the YAML)"),
    ("has_special_category_data", "Special category data (Art. 9)"),
    ("purposes", "Purposes"),
    ("lawful_basis", "Lawful basis"),
    ("recipients", "Recipients"),
    ("transfers", "Transfers outside the UK"),
    ("retention", "Time limits for erasure"),
    ("technical_measures", "Technical and organisational measures"),
)
"""The Art. 30(1) headings, in the order the article lists them."""


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _items(value: object) -> list[str]:
    """Fields that list several things (' | ' between relations, rules and clauses)."""
    return [part.strip() for part in _text(value).split(" | ") if part.strip()]


def write_csv(path: Path, rows: list[Row]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({key: _text(value) for key, value in row.items()} for row in rows)


def markdown(rows: list[Row], measures: list[Row], as_of: dt.date) -> str:
    lines = [
        "# Record of processing activities (GDPR Art. 30)",
        "",
        f"Generated for {as_of.isoformat()} by `tinytracker report --html` from the warehouse "
        "(`reporting.rpt_ropa`): the personal-data columns and their classes come from the "
        "YAML beside each model and source, the time limits from the retention rules, the "
        "recipients from the lineage and the consent recorded per organisation. Do not edit "
        "by hand: change the YAML or the seeds and build again.",
        "",
    ]
    for row in rows:
        lines += [f"## {row['activity']} (`{row['activity_id']}`)", ""]
        for key, title in FIELDS[1:]:
            items = _items(row[key])
            if len(items) > 1:
                lines += [f"- **{title}**:"] + [f"  - {item}" for item in items]
            else:
                lines.append(f"- **{title}**: {_text(row[key])}")
        lines.append("")
    lines += ["## Technical and organisational measures", ""]
    lines += ["| measure | applies to | what | evidence |", "|---|---|---|---|"]
    lines += [
        f"| {m['measure_id']} | {m['applies_to']} | {m['measure']} | {m['evidence']} |"
        for m in measures
    ]
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, rows: list[Row], measures: list[Row], as_of: dt.date) -> None:
    path.write_text(markdown(rows, measures, as_of), encoding="utf-8")


def html_section(rows: list[Row], measures: list[Row]) -> str:
    """The record as cards (one per activity) and the measures as a table."""
    parts = [
        "<p>Generated from the warehouse (reporting.rpt_ropa), the same rows as "
        f"<code>{CSV_NAME}</code> and <code>{MARKDOWN_NAME}</code> beside this page.</p>"
    ]
    for row in rows:
        fields = []
        for key, title in FIELDS[1:]:
            items = _items(row[key])
            value = (
                "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
                if len(items) > 1
                else html.escape(_text(row[key]))
            )
            fields.append(f"<dt>{html.escape(title)}</dt><dd>{value}</dd>")
        parts.append(
            f"<div class='activity' data-activity='{html.escape(row['activity_id'])}'>"
            f"<h3>{html.escape(row['activity'])}</h3><dl>{''.join(fields)}</dl></div>"
        )
    head = "<tr><th>measure</th><th>applies to</th><th>what</th><th>evidence</th></tr>"
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(_text(m[k]))}</td>"
            for k in ("measure_id", "applies_to", "measure", "evidence")
        )
        + "</tr>"
        for m in measures
    )
    parts.append(
        "<h3>Technical and organisational measures</h3>"
        f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"
    )
    return "".join(parts)
