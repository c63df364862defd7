"""Legal holds: keep an organisation, a pupil or an employee out of every retention action.

The policy keeps data "in case of a dispute" and for complaints (spec: Legal hold, interp.).
A hold lives in ``audit.legal_holds`` with who placed it, when and why; while ``released_at``
is null the retention models show every row of the held subjects as ``on_hold``, due or not
(``due_on`` still says when it will fall due), and keep them out of
``retention.retention_plan``. A hold on a pupil also holds that pupil's contacts.

Holds name subjects by their MIS id, so they are checked against the warehouse when placed:
a hold on a mistyped id would silently hold nothing, which is worse than an error.
"""

from __future__ import annotations

import datetime as dt
import getpass
import uuid
from dataclasses import dataclass

import duckdb

from tinytracker.core import references
from tinytracker.core.errors import RefusedError, TinyTrackerError

SUBJECT_TABLES: dict[str, tuple[str, str]] = {
    "pupil": ("raw.pupils", "pupil_id"),
    "employee": ("raw.employees", "employee_id"),
}
"""Where a held subject must exist: kind -> (table, id column). Anonymised rows do not count."""


@dataclass(frozen=True)
class LegalHold:
    """One row of ``audit.legal_holds``."""

    hold_id: str
    organisation_id: str
    subject_kind: str
    subject_id: str | None
    reason: str
    placed_by: str
    placed_at: dt.datetime
    released_by: str | None
    released_at: dt.datetime | None

    @property
    def is_active(self) -> bool:
        return self.released_at is None


def current_operator() -> str:
    """Who is placing or releasing a hold when ``--by`` is not given: the OS login."""
    return getpass.getuser()


def _utc_now() -> dt.datetime:
    # audit timestamps are UTC without a zone, like the rest of the warehouse's *_at columns
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def add_hold(
    con: duckdb.DuckDBPyConnection,
    organisation_id: str,
    reason: str,
    *,
    ticket: str | None = None,
    subject_kind: str = "organisation",
    subject_id: str | None = None,
    placed_by: str | None = None,
) -> LegalHold:
    """Place a hold after checking the organisation and subject exist; returns the new hold."""
    reason = references.category(reason, references.HOLD_REASONS)
    ticket = references.ticket(ticket)
    if subject_kind not in ("organisation", *SUBJECT_TABLES):
        raise TinyTrackerError(
            f"unknown hold subject kind {subject_kind!r}: use organisation, pupil or employee"
        )
    if (subject_kind == "organisation") != (subject_id is None):
        raise TinyTrackerError(
            "an organisation hold names no subject; a pupil or employee hold names exactly one"
        )
    known_organisation = con.execute(
        "select count(*) from raw.organisations where organisation_id = ?", [organisation_id]
    ).fetchall()[0][0]
    if not known_organisation:
        raise RefusedError(
            f"unknown organisation {organisation_id!r}: no such organisation in the warehouse"
        )
    if subject_kind in SUBJECT_TABLES:
        table, id_column = SUBJECT_TABLES[subject_kind]
        known_subject = con.execute(
            f"select count(*) from {table} where organisation_id = ? and {id_column} = ? "
            "and anonymised_on is null",
            [organisation_id, subject_id],
        ).fetchall()[0][0]
        if not known_subject:
            raise RefusedError(
                f"unknown {subject_kind} {subject_id!r} in organisation {organisation_id!r} "
                "(or already anonymised): nothing to hold"
            )
    hold = LegalHold(
        hold_id=str(uuid.uuid4()),
        organisation_id=organisation_id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        reason=reason,
        placed_by=placed_by or current_operator(),
        placed_at=_utc_now(),
        released_by=None,
        released_at=None,
    )
    con.execute(
        "insert into audit.legal_holds (hold_id, organisation_id, subject_kind, subject_id, "
        "reason, placed_by, placed_at, ticket) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            hold.hold_id,
            hold.organisation_id,
            hold.subject_kind,
            hold.subject_id,
            hold.reason,
            hold.placed_by,
            hold.placed_at,
            ticket,
        ],
    )
    return hold


def list_holds(
    con: duckdb.DuckDBPyConnection, *, include_released: bool = False
) -> list[LegalHold]:
    """Holds, oldest first; only the standing ones unless ``include_released``."""
    where = "" if include_released else "where released_at is null"
    rows = con.execute(
        "select hold_id, organisation_id, subject_kind, subject_id, reason, placed_by, placed_at, "
        f"released_by, released_at from audit.legal_holds {where} order by placed_at, hold_id"
    ).fetchall()
    return [LegalHold(*row) for row in rows]


def release_hold(
    con: duckdb.DuckDBPyConnection, hold_id: str, *, released_by: str | None = None
) -> LegalHold:
    """Release a standing hold; the row stays in the audit table with who released it and when."""
    rows = con.execute(
        "select released_at from audit.legal_holds where hold_id = ?", [hold_id]
    ).fetchall()
    if not rows:
        raise RefusedError(f"no legal hold with id {hold_id!r} (see tinytracker hold list)")
    if rows[0][0] is not None:
        raise RefusedError(
            f"legal hold {hold_id} was already released at {rows[0][0]:%Y-%m-%d %H:%M} UTC"
        )
    con.execute(
        "update audit.legal_holds set released_by = ?, released_at = ? where hold_id = ?",
        [released_by or current_operator(), _utc_now(), hold_id],
    )
    return next(h for h in list_holds(con, include_released=True) if h.hold_id == hold_id)
