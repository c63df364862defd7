"""``audit.subject_requests``: one row per access or erasure request, no personal data.

A request row says what kind of request it was, for which kind of subject in which
organisation, when it was received, when it is due (received + 1 month, GDPR Art. 12(3),
clamped to the month's end) and when and how it was completed. It never holds the subject's
id, name or UPN: the request id is printed to the operator and written into the SAR bundle
(or tied to the erasure's retention run), which is how a request is traced back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import duckdb

from tinytracker.core.dates import add_months, utc_now
from tinytracker.core.errors import RefusedError

RESPONSE_MONTHS = 1

STATUSES = {
    "completed": "answered: bundle written (access) or subject erased (erasure)",
    "unknown_subject": "no person with that id in the organisation",
    "already_erased": "the id is on the erasure suppression list",
    "anonymised_record": "the id is the surrogate of an anonymised record",
    "refused_legal_hold": "erasure refused: the subject is on a legal hold",
}


@dataclass(frozen=True)
class SubjectRequest:
    """One row of ``audit.subject_requests``."""

    request_id: str
    request_kind: str
    subject_kind: str
    organisation_id: str
    received_on: dt.date
    due_on: dt.date
    completed_on: dt.date | None
    status: str
    run_id: str | None
    reason: str | None
    handled_by: str
    ticket: str | None = None


def new_request(
    request_kind: str,
    subject_kind: str,
    organisation_id: str,
    received_on: dt.date | None,
    handled_by: str,
) -> SubjectRequest:
    """A request received on ``received_on`` (default today), not yet answered."""
    received = received_on or dt.date.today()
    if received > dt.date.today():
        raise RefusedError(
            f"--received {received} is in the future: give the date the "
            "request reached the controller"
        )
    return SubjectRequest(
        request_id=str(uuid.uuid4()),
        request_kind=request_kind,
        subject_kind=subject_kind,
        organisation_id=organisation_id,
        received_on=received,
        due_on=add_months(received, RESPONSE_MONTHS),
        completed_on=None,
        status="open",
        run_id=None,
        reason=None,
        handled_by=handled_by,
    )


def record(
    con: duckdb.DuckDBPyConnection,
    request: SubjectRequest,
    status: str,
    *,
    run_id: str | None = None,
    reason: str | None = None,
    ticket: str | None = None,
) -> SubjectRequest:
    """Insert the request with its outcome (completed today); returns the recorded row."""
    if status not in STATUSES:
        raise ValueError(f"unknown subject request status {status!r}")
    completed = dt.date.today()
    con.execute(
        "insert into audit.subject_requests (request_id, request_kind, subject_kind, "
        "organisation_id, received_on, due_on, completed_on, status, run_id, reason, "
        "handled_by, recorded_at, ticket) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            request.request_id,
            request.request_kind,
            request.subject_kind,
            request.organisation_id,
            request.received_on,
            request.due_on,
            completed,
            status,
            run_id,
            reason,
            request.handled_by,
            utc_now(),
            ticket,
        ],
    )
    return SubjectRequest(
        request.request_id,
        request.request_kind,
        request.subject_kind,
        request.organisation_id,
        request.received_on,
        request.due_on,
        completed,
        status,
        run_id,
        reason,
        request.handled_by,
        ticket,
    )
