"""Who a data-subject request is about, and which rows are about them.

A request names one person by the MIS id their organisation uses. The same rules decide what
an access request discloses and what an erasure request erases, so the two cannot disagree:

- **pupil**: the pupil row and every row keyed by the pupil's id (attendance, assessments, SEN,
  reports about the pupil); the pupil's contacts; correspondence about the pupil or about one
  of those contacts; setup-import rows whose payload names the pupil; quarantined rows naming
  any of them.
- **employee**: the employee row; reports they authored; correspondence about them; setup-import
  rows naming them; quarantined rows naming them.
- **contact** (``pupil_contact``): the contact row; correspondence about the contact; setup-import
  rows carrying the contact's id; quarantined rows naming the contact.

Whether a setup-import payload names a person is decided by
:mod:`tinytracker.erasure.identifiers` (UPN, MIS id, name with date of birth, teacher number,
email, employee name; keys matched case-insensitively with their common variants, UK dates
accepted). Invalid JSON names no one.

**After an erasure** the id is on the suppression list, and the warehouse may still hold data
about the person that no rule has removed yet: the record of an employee whose name the policy
keeps because they authored reports (the list keeps its surrogate, the one link it keeps),
setup-import rows naming them that the erasure left (``--keep-setup-imports``, or a row naming
someone on legal hold), correspondence about a pupil anonymised by a scheduled rule (kept under
its own rule). :func:`tinytracker.rights.lookup.find_subject` with ``erased_ok`` returns such
a person as an erased :class:`Subject`; their setup-import rows are found by the keyed tokens of
their identifiers (audit.erasure_identifiers), the only trace of the identifiers themselves.

Everything is computed in SQL into two temp tables (``rights_scope``: subject kind and id of
every retention subject in scope; ``rights_setup_rows``: the matching setup-import rows), so the
cost does not depend on how many rows a person has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from tinytracker.core import secret
from tinytracker.core.errors import RefusedError, TinyTrackerError
from tinytracker.core.warehouse import fetch_row
from tinytracker.erasure import identifiers

# The CLI says ``contact``; the retention engine and the suppression list say ``pupil_contact``.
CLI_KINDS: dict[str, str] = {"pupil": "pupil", "employee": "employee", "contact": "pupil_contact"}


@dataclass(frozen=True)
class SubjectTable:
    """Where a kind of subject lives: its raw table, its id column, anonymised in place or not."""

    table: str
    id_column: str
    anonymised_in_place: bool
    label: str


SUBJECT_TABLES: dict[str, SubjectTable] = {
    "pupil": SubjectTable("raw.pupils", "pupil_id", True, "pupil"),
    "employee": SubjectTable("raw.employees", "employee_id", True, "employee"),
    "pupil_contact": SubjectTable("raw.pupil_contacts", "contact_id", False, "contact"),
}

# correspondence.subject_kind uses the landing contract's words
CORRESPONDENCE_KIND = {"pupil": "pupil", "employee": "employee", "pupil_contact": "contact"}


@dataclass(frozen=True)
class Subject:
    """One person of one organisation, named by the MIS id of the request.

    ``record_id`` is the id of the person's own row in raw: the MIS id while they are held as a
    living person; after an erasure, the kept surrogate of an author whose name the policy
    keeps, else None (no record identifies them). ``erased_on`` / ``erased_by`` are set when
    the id is on the erasure suppression list.
    """

    kind: str
    organisation_id: str
    subject_id: str
    organisation_name: str
    record_id: str | None = None
    erased_on: dt.date | None = None
    erased_by: str | None = None

    @property
    def label(self) -> str:
        return SUBJECT_TABLES[self.kind].label

    @property
    def is_erased(self) -> bool:
        return self.erased_on is not None

    def params(self, sql: str) -> dict[str, str | None]:
        """The named parameters ``$org``, ``$id``, ``$rid`` that ``sql`` uses (DuckDB refuses
        extras)."""
        values = {"org": self.organisation_id, "id": self.subject_id, "rid": self.record_id}
        return {name: value for name, value in values.items() if f"${name}" in sql}

    def query(self, con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
        """Execute ``sql`` with this subject's ``$org`` / ``$id`` / ``$rid``."""
        return con.execute(sql, self.params(sql))


class UnknownSubjectError(RefusedError):
    """The warehouse holds no identifiable person under that id; ``status`` says why.

    ``unknown_subject``: no such id; ``already_erased``: the id is on the erasure suppression
    list; ``anonymised_record``: the id is the random surrogate of an anonymised record.
    """

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


def subject_kind(cli_kind: str) -> str:
    """The engine's kind for a CLI kind (``contact`` -> ``pupil_contact``)."""
    try:
        return CLI_KINDS[cli_kind]
    except KeyError:
        raise TinyTrackerError(
            f"unknown subject kind {cli_kind!r}: use {', '.join(CLI_KINDS)}"
        ) from None


def subject_token(kind: str) -> str:
    """SQL: the keyed token of the request's ``$org`` / ``$id`` (secret bound)."""
    return secret.subject_token_sql(f"'{kind}'", "$org", "$id")


def _known_identifiers(subject: Subject) -> str:
    """SQL list: what a payload's identifiers are compared with (a constant).

    The person's identifier strings while their record is held; after an erasure the keyed
    tokens of them on audit.erasure_identifiers (the plain values are gone).
    """
    kind = subject.kind
    if subject.is_erased:
        return (
            f"(select coalesce(list(identifier_token), []) from audit.erasure_identifiers "
            f"where organisation_id = $org and subject_kind = '{kind}' "
            f"and subject_token = {subject_token(kind)})"
        )
    spec = SUBJECT_TABLES[kind]
    return (
        f"(select coalesce(first({identifiers.person_identifiers(kind, 'person')}), []) "
        f"from {spec.table} as person where person.organisation_id = $org "
        f"and person.{spec.id_column} = $id)"
    )


def _comparable(subject: Subject, identifier_list: str) -> str:
    """SQL list: ``identifier_list`` in the form :func:`_known_identifiers` holds."""
    if not subject.is_erased:
        return identifier_list
    token = secret.subject_token_sql(f"'{subject.kind}'", "$org", "v")
    return f"list_transform({identifier_list}, lambda v: {token})"


def names_subject(subject: Subject, payload: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the subject (a row of ``$org``)."""
    found = _comparable(subject, identifiers.payload_identifiers(subject.kind, payload))
    return f"coalesce(list_has_any({found}, {_known_identifiers(subject)}), false)"


def payload_names_pupil(payload: str, person: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the pupil row aliased ``person``."""
    return identifiers.payload_names("pupil", payload, person)


def payload_names_employee(payload: str, person: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the employee row aliased ``person``."""
    return identifiers.payload_names("employee", payload, person)


def build_scope(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Create temp tables ``rights_scope`` and ``rights_setup_rows`` for ``subject``.

    ``rights_scope`` lists every retention subject that is about the person, in the engine's
    kinds: the person's own record (if one is held); a living pupil's contacts; correspondence
    about them (loaded, or quarantined under an id no loaded item uses); setup imports with a
    row naming them (loaded or quarantined). ``rights_setup_rows`` (organisation_id, import_id,
    row_number) lists the setup-import rows naming them. An access request discloses these; an
    erasure request erases the person, contacts and correspondence and deletes exactly those
    setup-import rows.
    """
    subject.query(
        con,
        f"""
        create or replace temp table rights_setup_rows as
        select organisation_id, import_id, row_number
        from raw.setup_imports as imports
        where organisation_id = $org and {names_subject(subject, "imports.payload")}
    """,
    )
    contacts = (
        "select contact_id from raw.pupil_contacts where organisation_id = $org and pupil_id = $id"
        if subject.kind == "pupil" and not subject.is_erased
        else "select cast(null as varchar) as contact_id where false"
    )
    own_kind = CORRESPONDENCE_KIND[subject.kind]

    def about(kind: str, subject_id: str) -> str:
        return f"""(
            ({kind} = '{own_kind}' and {subject_id} = $id)
            or ({kind} = 'contact' and {subject_id} in (select * from contacts))
        )"""

    member = "trim(json_extract_string(q.raw_values, '$.{}'))".format
    own = (
        f"select '{subject.kind}' as subject_kind, cast($rid as varchar) as subject_id union all "
        if subject.record_id is not None
        else ""
    )
    subject.query(
        con,
        f"""
        create or replace temp table rights_scope as
        with contacts as ({contacts}),
        correspondence as (
            select correspondence_id
            from raw.correspondence
            where organisation_id = $org and {about("subject_kind", "subject_id")}
        ),
        quarantined_correspondence as (
            select {member("correspondence_id")} as correspondence_id
            from raw.quarantine as q
            where q.organisation_id = $org
                and {about(member("subject_kind"), member("subject_id"))}
                and {member("correspondence_id")} not in (
                    select correspondence_id from raw.correspondence
                    where organisation_id = $org
                )
        ),
        imports as (
            select import_id from rights_setup_rows
            union
            select {member("import_id")} from raw.quarantine as q
            where q.organisation_id = $org
                and {names_subject(subject, "q.raw_values->>'payload'")}
        )
        {own}select distinct 'pupil_contact' as subject_kind, contact_id as subject_id
        from contacts
        union all
        select distinct 'correspondence', correspondence_id from (
            select correspondence_id from correspondence
            union
            select correspondence_id from quarantined_correspondence
            where correspondence_id is not null
        )
        union all
        select distinct 'setup_import', import_id from imports where import_id is not null
        """,
    )


def quarantine_predicate(subject: Subject, alias: str = "q") -> str:
    """SQL predicate over ``raw.quarantine`` rows (alias ``q``) naming the subject.

    Needs ``rights_scope`` (built by :func:`build_scope`) and the parameters ``$org``, ``$id``.
    A quarantined row keeps the values as given, so they are compared trimmed.
    """

    def value(member: str) -> str:
        return f"trim(json_extract_string({alias}.raw_values, '$.{member}'))"

    contacts = "(select subject_id from rights_scope where subject_kind = 'pupil_contact')"
    own_kind = CORRESPONDENCE_KIND[subject.kind]
    clauses = [
        f"({value('subject_kind')} = '{own_kind}' and {value('subject_id')} = $id)",
        names_subject(subject, f"{alias}.raw_values->>'payload'"),
    ]
    if subject.kind == "pupil":
        upn = _comparable(subject, f"['upn=' || {identifiers.normalise('upn', value('upn'))}]")
        clauses += [
            f"{value('pupil_id')} = $id",
            f"({value('subject_kind')} = 'contact' and {value('subject_id')} in {contacts})",
            f"({value('contact_id')} in {contacts} and {value('pupil_id')} is null)",
            f"coalesce(list_has_any({upn}, {_known_identifiers(subject)}), false)",
        ]
    elif subject.kind == "employee":
        clauses.append(f"{value('employee_id')} = $id")
    else:
        clauses.append(f"{value('contact_id')} = $id")
    return f"({alias}.organisation_id = $org and ({' or '.join(clauses)}))"


@dataclass(frozen=True)
class StillHeld:
    """What the warehouse holds about an erased person (row counts)."""

    record: int = 0
    reports: int = 0
    setup_rows: int = 0
    correspondence: int = 0
    quarantine: int = 0

    def __bool__(self) -> bool:
        return any(
            (self.record, self.reports, self.setup_rows, self.correspondence, self.quarantine)
        )


def still_held(con: duckdb.DuckDBPyConnection, subject: Subject) -> StillHeld:
    """Counts of the rows still about an erased subject (builds the scope tables)."""
    build_scope(con, subject)
    spec = SUBJECT_TABLES[subject.kind]
    reports = (
        "(select count(*) from raw.reports where organisation_id = $org "
        "and author_employee_id = $rid)"
        if subject.kind == "employee"
        else "0"
    )
    sql = f"""
        select
            (select count(*) from {spec.table} where organisation_id = $org
                and {spec.id_column} = $rid),
            {reports},
            (select count(*) from rights_setup_rows),
            (select count(*) from raw.correspondence where organisation_id = $org
                and correspondence_id in (select subject_id from rights_scope
                                          where subject_kind = 'correspondence')),
            (select count(*) from raw.quarantine as q where {quarantine_predicate(subject)})
    """
    row = fetch_row(con, sql, subject.params(sql))
    return StillHeld(*(int(n) for n in row))


def describe_held(held: StillHeld) -> str:
    """Plain words for :class:`StillHeld`, e.g. 'the employee record (name kept as report
    author) and 120 report(s) they wrote; 2 setup-import row(s) naming them'."""
    parts = []
    if held.record:
        parts.append(
            "their record (name kept as the author of historical reports)"
            + (f" and {held.reports} report(s) they wrote" if held.reports else "")
        )
    if held.setup_rows:
        parts.append(f"{held.setup_rows} setup-import row(s) naming them")
    if held.correspondence:
        parts.append(f"{held.correspondence} correspondence item(s) about them")
    if held.quarantine:
        parts.append(f"{held.quarantine} quarantined row(s) naming them")
    return "; ".join(parts)
