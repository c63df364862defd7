"""The machine-readable SAR bundle (``sar.json``): the sections' rows, serialised as JSON.

Python only serialises what the section queries return: dates as ISO text, JSON columns
parsed, decimals as exact text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tinytracker.core.warehouse import relation_exists
from tinytracker.rights import requests
from tinytracker.rights.sar_sections import not_included, sections_for
from tinytracker.rights.subjects import Subject

SCHEMA_VERSION = "1.0"
JSON_NAME = "sar.json"
HTML_NAME = "sar.html"


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


def collect_sections(
    con: duckdb.DuckDBPyConnection, subject: Subject
) -> tuple[list[SectionRows], list[str]]:
    """Run every section; returns the sections and the names of relations not built yet."""
    collected: list[SectionRows] = []
    not_built: list[str] = []
    for section in sections_for(con, subject):
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
