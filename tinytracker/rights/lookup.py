"""Identifying the person a request names: resolving the id, and the values that identify them.

A request names one person by the MIS id their organisation uses. :func:`find_subject` turns
that id into a :class:`~tinytracker.rights.subjects.Subject`, or refuses it truthfully: an
anonymised record's id is a random surrogate that identifies no one; an erased person's id is
on the suppression list, and the refusal says what (if anything) is still held about them.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from tinytracker.core import policy, secret
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.warehouse import require_organisation, scalar
from tinytracker.rights.subjects import (
    SUBJECT_TABLES,
    StillHeld,
    Subject,
    UnknownSubjectError,
    describe_held,
    still_held,
    subject_token,
)


def _erased(
    con: duckdb.DuckDBPyConnection, kind: str, organisation_id: str, subject_id: str
) -> tuple[dt.date, str, str | None] | None:
    """(actioned_on, rule_id, kept record id) when the id is on the suppression list.

    Tokens are keyed with the project secret; without it the list cannot be read and the
    subject is reported as unknown. The kept record id is the surrogate the list keeps for an
    author whose name was kept, when that record is still there.
    """
    has_any = scalar(
        con,
        "select count(*) from audit.erasure_suppressions where subject_kind = ? "
        "and organisation_id = ?",
        [kind, organisation_id],
    )
    if not has_any:
        return None
    try:
        secret.bind_secret(con)
    except TinyTrackerError:
        return None
    spec = SUBJECT_TABLES[kind]
    kept = (
        f"(select max(kept.{spec.id_column}) from {spec.table} as kept "
        f"where kept.organisation_id = $org and kept.{spec.id_column} = listed.surrogate_id)"
    )
    rows = con.execute(
        f"select actioned_on, rule_id, {kept} from audit.erasure_suppressions as listed "
        f"where subject_kind = '{kind}' and organisation_id = $org "
        f"and subject_token = {subject_token(kind)} order by actioned_on limit 1",
        {"org": organisation_id, "id": subject_id},
    ).fetchall()
    return rows[0] if rows else None


def find_subject(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    organisation_id: str,
    subject_id: str,
    *,
    erased_ok: bool = False,
) -> Subject:
    """The living subject, or :class:`UnknownSubjectError` saying why there is none.

    A request about someone the warehouse no longer identifies must fail loudly: an empty
    bundle or an erasure of nothing would tell the controller the wrong thing. With
    ``erased_ok`` an id on the suppression list gives an erased :class:`Subject` instead (an
    access request then discloses what is still held); otherwise the error says what is still
    held about them, if anything.
    """
    spec = SUBJECT_TABLES[kind]
    subject_id = (subject_id or "").strip()
    if not subject_id:
        raise TinyTrackerError(f"give the {spec.label}'s MIS id (--id)")
    name = require_organisation(con, organisation_id)
    anonymised = "anonymised_on" if spec.anonymised_in_place else "cast(null as date)"
    rows = con.execute(
        f"select {anonymised} from {spec.table} where organisation_id = ? and {spec.id_column} = ?",
        [organisation_id, subject_id],
    ).fetchall()
    where = f"{spec.label} {subject_id!r} of organisation {organisation_id!r}"
    if rows and rows[0][0] is None:
        return Subject(kind, organisation_id, subject_id, name, record_id=subject_id)
    if rows:
        raise UnknownSubjectError(
            f"{where} is an anonymised record (anonymised on {rows[0][0]}): its id is a random "
            "surrogate and nothing in the warehouse identifies a person by it",
            "anonymised_record",
        )
    erased = _erased(con, kind, organisation_id, subject_id)
    if erased is not None:
        actioned_on, rule_id, record_id = erased
        subject = Subject(
            kind,
            organisation_id,
            subject_id,
            name,
            record_id=record_id,
            erased_on=actioned_on,
            erased_by=rule_id,
        )
        if erased_ok:
            return subject
        raise erased_error(subject, still_held(con, subject))
    raise UnknownSubjectError(
        f"unknown {where}: the warehouse holds no {spec.label} with that id (check the MIS id; "
        "ids are case-sensitive)",
        "unknown_subject",
    )


def erased_error(subject: Subject, held: StillHeld) -> UnknownSubjectError:
    """The refusal for an id on the suppression list, saying truthfully what is still held."""
    where = f"{subject.label} {subject.subject_id!r} of organisation {subject.organisation_id!r}"
    erased = f"{where} was erased on {subject.erased_on} ({subject.erased_by})"
    if held:
        sar = ": `tinytracker sar` lists them" if subject.kind in ("pupil", "employee") else ""
        return UnknownSubjectError(
            f"{erased}, but the warehouse still holds {describe_held(held)}{sar}", "already_erased"
        )
    return UnknownSubjectError(
        f"{erased}: the warehouse no longer holds data that identifies them (backups keep it "
        f"for {policy.backup_retention_days()} days after that date)",
        "already_erased",
    )


def identifying_values(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[tuple[str, str]]:
    """(what, value) pairs that identify the subject, for checking free text such as a reason.

    A pupil's include their contacts' names and contact details: a reason naming the parent
    identifies the child as surely as the child's own name.
    """
    queries = {
        "pupil": [
            (
                "select unnest(['MIS id', 'UPN', 'forename', 'surname', 'date of birth', "
                "'date of birth', 'email', 'phone', 'postcode', 'address']), "
                "unnest([pupil_id, upn, forename, surname, strftime(date_of_birth, '%Y-%m-%d'), "
                "strftime(date_of_birth, '%d/%m/%Y'), email, phone, postcode, address]) "
                "from raw.pupils where organisation_id = $org and pupil_id = $id"
            ),
            (
                "select unnest(['contact id', 'contact forename', 'contact surname', "
                "'contact email', 'contact phone', 'contact address']), "
                "unnest([contact_id, forename, surname, email, phone, address]) "
                "from raw.pupil_contacts where organisation_id = $org and pupil_id = $id"
            ),
        ],
        "employee": [
            (
                "select unnest(['MIS id', 'forename', 'surname', 'email', 'phone', "
                "'teacher number']), unnest([employee_id, forename, surname, email, phone, "
                "teacher_number]) from raw.employees where organisation_id = $org "
                "and employee_id = $id"
            ),
        ],
        "pupil_contact": [
            (
                "select unnest(['MIS id', 'forename', 'surname', 'email', 'phone', 'address']), "
                "unnest([contact_id, forename, surname, email, phone, address]) "
                "from raw.pupil_contacts where organisation_id = $org and contact_id = $id"
            ),
        ],
    }[subject.kind]
    values: list[tuple[str, str]] = []
    for sql in queries:
        values += [
            (what, str(value))
            for what, value in subject.query(con, sql).fetchall()
            if value is not None and str(value).strip()
        ]
    return values
