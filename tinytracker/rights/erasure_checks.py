"""When an erasure request is refused before anything changes: a standing legal hold, or a
reason that would re-identify the person.

The controller's reason is kept in ``audit.subject_requests.reason``; the audit trail must not
re-identify the person it records erasing, so a reason containing one of their identifying
values is refused, naming what it contains (never the value).
"""

from __future__ import annotations

import re

import duckdb

from tinytracker.core.errors import TinyTrackerError
from tinytracker.rights.lookup import identifying_values
from tinytracker.rights.subjects import Subject

MIN_REASON_CHARS = 10


def check_reason(con: duckdb.DuckDBPyConnection, subject: Subject, reason: str) -> str:
    """The trimmed reason, or an error naming which identifier it contains (not its value)."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise TinyTrackerError(
            "give the controller's reason for the erasure (--reason, at least "
            f"{MIN_REASON_CHARS} characters), e.g. 'erasure request from the school, ticket 4411'"
        )
    text = reason.lower()
    digits = re.sub(r"\D", "", reason)
    for what, value in identifying_values(con, subject):
        needle = value.strip().lower()
        if len(needle) < 2:
            continue
        found = re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", text) is not None
        phone_digits = re.sub(r"\D", "", value)
        # a phone number written another way (spaces, +44) still ends in the same digits
        found = found or (
            "phone" in what and len(phone_digits) >= 6 and phone_digits[-6:] in digits
        )
        if found:
            raise TinyTrackerError(
                f"the reason contains the {subject.label}'s {what}: it is kept in "
                "audit.subject_requests, which must not identify the person it records erasing. "
                "Describe the request without the person's ids, names or contact details "
                "(e.g. 'erasure request from the school, ticket 4411')."
            )
    return reason


def standing_holds(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[str]:
    """Ids of standing legal holds that keep the subject: on the organisation, on the person,
    or for a contact on the contact's pupil (read from audit.legal_holds itself, never from a
    dbt view that may be stale)."""
    held = {
        "pupil": "subject_kind = 'pupil' and subject_id = $id",
        "employee": "subject_kind = 'employee' and subject_id = $id",
        "pupil_contact": "subject_kind = 'pupil' and subject_id in (select pupil_id "
        "from raw.pupil_contacts where organisation_id = $org "
        "and contact_id = $id)",
    }[subject.kind]
    sql = (
        "select hold_id from audit.legal_holds where organisation_id = $org "
        f"and released_at is null and (subject_kind = 'organisation' or ({held})) "
        "order by placed_at"
    )
    return [hold_id for (hold_id,) in subject.query(con, sql).fetchall()]
