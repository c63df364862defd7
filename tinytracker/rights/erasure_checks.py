"""When an erasure request is refused before anything changes: a standing legal hold, or a
reason that could re-identify the person.

The controller's reason is a category and a case reference (tinytracker/core/references.py),
kept in ``audit.subject_requests``; the audit trail must not re-identify the person it records
erasing, so a reference containing one of their identifying values is refused too, naming what
it contains (never the value).
"""

from __future__ import annotations

import re

import duckdb

from tinytracker.core import references
from tinytracker.core.errors import RefusedError
from tinytracker.rights.lookup import identifying_values
from tinytracker.rights.subjects import Subject


def check_reason(
    con: duckdb.DuckDBPyConnection, subject: Subject, reason: str, ticket: str | None
) -> tuple[str, str | None]:
    """The reason's category and the checked ticket; an error naming what is wrong (never a
    value), e.g. a ticket that contains one of the person's identifiers."""
    category = references.category(reason, references.ERASURE_REASONS)
    checked = references.ticket(ticket)
    if checked is None:
        return category, None
    text = checked.lower()
    for what, value in identifying_values(con, subject):
        needle = value.strip().lower()
        if len(needle) >= 2 and re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", text):
            raise RefusedError(
                f"the ticket contains the {subject.label}'s {what}: it is kept in "
                "audit.subject_requests, which must not identify the person it records erasing. "
                "Use the reference of your case file instead."
            )
    return category, checked


def standing_holds(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[str]:
    """Ids of standing legal holds that keep the subject, oldest first, as
    ``retention.retention_hold_coverage`` says (the one definition of who a hold covers: the
    organisation, the person, or for a contact the contact's pupil). It is a view over
    audit.legal_holds, so a hold placed a moment ago counts."""
    sql = (
        "select covered.hold_id from retention.retention_hold_coverage as covered "
        "inner join audit.legal_holds as hold using (hold_id) "
        f"where covered.organisation_id = $org and covered.subject_kind = '{subject.kind}' "
        "and covered.subject_id = $id group by covered.hold_id order by min(hold.placed_at)"
    )
    return [hold_id for (hold_id,) in subject.query(con, sql).fetchall()]
