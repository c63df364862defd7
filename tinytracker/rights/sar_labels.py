"""Words for the SAR page: a label for each field, the meaning of each code, dates written out.

A parent reading ``sar.html`` cannot tell what ``WBRI``, ``ENG`` or ``False`` mean, nor what
``_load_id`` is. The page shows each field under a plain label, each code with its meaning from
the reference seeds (the same code lists the loader checks against: ``seeds/reference``), yes/no
for true/false and dates as "2 March 2014". Bookkeeping columns (``_load_id``, ``_loaded_at``,
``_extra``...) are left off the page; ``sar.json`` keeps every column for the controller.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from typing import Any

from tinytracker.core.contract import CODE_SEEDS, LANDING_FILES
from tinytracker.core.paths import SEEDS_DIR

LABELS = {
    "organisation_id": "Organisation (id)",
    "pupil_id": "Pupil id in the school's system",
    "employee_id": "Employee id in the school's system",
    "contact_id": "Contact id in the school's system",
    "upn": "Unique pupil number (UPN)",
    "forename": "First name",
    "surname": "Last name",
    "date_of_birth": "Date of birth",
    "fsm_eligible": "Eligible for free school meals",
    "first_language": "First language",
    "sen_provision": "Special educational needs provision",
    "year_group": "Year group",
    "admission_date": "Date joined the school",
    "leaving_date": "Date left the school",
    "relationship": "Relationship to the pupil",
    "session_date": "Date",
    "session": "Session (morning/afternoon)",
    "mark": "Attendance mark",
    "assessment": "Assessment",
    "assessed_on": "Assessed on",
    "primary_need": "Main special educational need",
    "start_date": "Start date",
    "end_date": "End date",
    "teacher_number": "Teacher reference number",
    "teaching_status": "Teaching status",
    "author_employee_id": "Written by (employee id)",
    "issued_on": "Issued on",
    "sent_on": "Sent on",
    "subject_kind": "About a",
    "subject_id": "About (id)",
    "anonymised_on": "Anonymised on",
    "anonymised_by_rule_id": "Anonymised under rule",
    "trigger_on": "Retention period starts on",
    "due_on": "Due to be deleted or anonymised on",
    "actioned_on": "Deleted or anonymised on",
    "backups_clear_on": "Gone from backups on",
    "is_held": "Kept by a legal hold",
    "is_winning_rule": "The rule that applies",
    "rule_id": "Retention rule",
}
"""Column -> label; any other column is shown as its name in words (``leaving_date`` ->
"Leaving date")."""

BOOKKEEPING_PREFIX = "_"
"""Columns the loader and the warehouse keep for themselves (``_load_id``, ``_loaded_at``,
``_extra``, ``_line``): in sar.json, not on the page."""


def is_bookkeeping(column: str) -> bool:
    return column.startswith(BOOKKEEPING_PREFIX)


def label(column: str) -> str:
    """The plain label of a column."""
    if column in LABELS:
        return LABELS[column]
    words = column.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _read(name: str) -> list[dict[str, str]]:
    path = SEEDS_DIR / "reference" / f"{name}.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@functools.cache
def code_meanings() -> dict[str, dict[str, str]]:
    """Value set -> code -> meaning, from the reference seeds."""
    meanings: dict[str, dict[str, str]] = {}
    for row in _read("value_sets"):
        meanings.setdefault(row["value_set"], {})[row["code"]] = row["description"]
    for value_set, seed in CODE_SEEDS.items():
        rows = _read(seed)
        if rows and "code" in rows[0]:
            codes = meanings.setdefault(value_set, {})
            for row in rows:
                codes.setdefault(row["code"], row["description"])
    meanings["year_group"] = {row["year_group"]: row["description"] for row in _read("year_groups")}
    return meanings


@functools.cache
def column_value_sets() -> dict[str, str]:
    """Column name -> its value set, from the landing contract (one meaning per column name)."""
    found: dict[str, str] = {}
    for landing_file in LANDING_FILES:
        for column in landing_file.columns:
            if column.value_set:
                found.setdefault(column.name, column.value_set)
    return found


def readable_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def readable(column: str, value: Any) -> str:
    """A value as a person reads it: codes with their meaning, yes/no, dates written out."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return f"{readable_date(value)}, {value:%H:%M} UTC"
    if isinstance(value, dt.date):
        return readable_date(value)
    text = str(value)
    if isinstance(value, str) and len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return readable_date(dt.date.fromisoformat(text))
        except ValueError:
            return text
    value_set = column_value_sets().get(column)
    meaning = code_meanings().get(value_set or "", {}).get(text)
    if meaning and meaning.lower() != text.lower():
        return f"{text} ({meaning})"
    return text
