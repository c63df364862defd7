"""Who a data-subject request is about, and which rows are about them.

A request names one person by the MIS id their organisation uses. The same rules decide what
an access request discloses and what an erasure request erases, so the two cannot disagree:

- **pupil**: the pupil row and every row keyed by the pupil's id (attendance, assessments, SEN,
  reports about the pupil); the pupil's contacts; correspondence about the pupil or about one
  of those contacts; setup-import rows whose payload names the pupil; quarantined rows naming
  any of them.
- **employee**: the employee row; reports they authored; correspondence about them; setup-import
  rows naming them; quarantined rows naming them.
- **contact** (``pupil_contact``): the contact row; correspondence about the contact; quarantined
  rows naming the contact.

A setup-import payload is one row of a file the school sent before its MIS was connected: JSON
with the school's own column names, no MIS id. It names a pupil when its ``upn`` equals the
pupil's UPN, or when ``forename``, ``surname`` and ``date_of_birth`` are all present and equal
the pupil's (names compared trimmed and case-insensitively, the date as YYYY-MM-DD). A name
alone never matches: two pupils may share one. It names an employee when its ``employee_id``,
``teacher_number`` or ``email`` equals theirs. Invalid JSON names no one.

Everything is computed in SQL into two temp tables (``rights_scope``: subject kind and id of
every retention subject in scope; ``rights_setup_rows``: the matching setup-import rows), so the
cost does not depend on how many rows a person has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from orchestration import warehouse
from orchestration.errors import TinyTrackerError
from orchestration.rights.common import require_organisation

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
    """One living, identifiable person of one organisation."""

    kind: str
    organisation_id: str
    subject_id: str
    organisation_name: str

    @property
    def label(self) -> str:
        return SUBJECT_TABLES[self.kind].label

    def params(self, sql: str) -> dict[str, str]:
        """The named parameters ``$org`` and ``$id`` that ``sql`` uses (DuckDB refuses extras)."""
        values = {"org": self.organisation_id, "id": self.subject_id}
        return {name: value for name, value in values.items() if f"${name}" in sql}

    def query(self, con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
        """Execute ``sql`` with this subject's ``$org`` / ``$id``."""
        return con.execute(sql, self.params(sql))


class UnknownSubjectError(TinyTrackerError):
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


def _erased(con: duckdb.DuckDBPyConnection, kind: str, organisation_id: str,
            subject_id: str) -> tuple[dt.date, str] | None:
    """(actioned_on, rule_id) when the id is on the suppression list, else None.

    Tokens are keyed with the project secret; without it the list cannot be read and the
    subject is reported as unknown (which is also true: nothing identifies them any more).
    """
    has_any = con.execute(
        "select count(*) from audit.erasure_suppressions where subject_kind = ? "
        "and organisation_id = ?", [kind, organisation_id],
    ).fetchone()[0]
    if not has_any:
        return None
    try:
        warehouse.bind_secret(con)
    except TinyTrackerError:
        return None
    token = warehouse.subject_token_sql("?", "?", "?")
    rows = con.execute(
        f"select actioned_on, rule_id from audit.erasure_suppressions "
        f"where subject_kind = ? and organisation_id = ? and subject_token = {token} "
        "order by actioned_on limit 1",
        [kind, organisation_id, kind, organisation_id, subject_id],
    ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def find_subject(con: duckdb.DuckDBPyConnection, kind: str, organisation_id: str,
                 subject_id: str) -> Subject:
    """The living subject, or :class:`UnknownSubjectError` saying why there is none.

    A request about someone the warehouse no longer identifies must fail loudly: an empty
    bundle or an erasure of nothing would tell the controller the wrong thing.
    """
    spec = SUBJECT_TABLES[kind]
    subject_id = (subject_id or "").strip()
    if not subject_id:
        raise TinyTrackerError(f"give the {spec.label}'s MIS id (--id)")
    name = require_organisation(con, organisation_id)
    anonymised = "anonymised_on" if spec.anonymised_in_place else "cast(null as date)"
    rows = con.execute(
        f"select {anonymised} from {spec.table} where organisation_id = ? "
        f"and {spec.id_column} = ?",
        [organisation_id, subject_id],
    ).fetchall()
    where = f"{spec.label} {subject_id!r} of organisation {organisation_id!r}"
    if rows and rows[0][0] is None:
        return Subject(kind, organisation_id, subject_id, name)
    if rows:
        raise UnknownSubjectError(
            f"{where} is an anonymised record (anonymised on {rows[0][0]}): its id is a random "
            "surrogate and nothing in the warehouse identifies a person by it",
            "anonymised_record",
        )
    erased = _erased(con, kind, organisation_id, subject_id)
    if erased is not None:
        actioned_on, rule_id = erased
        raise UnknownSubjectError(
            f"{where} was erased on {actioned_on} ({rule_id}): the warehouse no longer holds "
            "data that identifies them (backups keep it for 90 days after that date)",
            "already_erased",
        )
    raise UnknownSubjectError(
        f"unknown {where}: the warehouse holds no {spec.label} with that id (check the MIS id; "
        "ids are case-sensitive)",
        "unknown_subject",
    )


def _payload_member(payload: str, member: str) -> str:
    """Trimmed text of a JSON member of a text column; null for invalid JSON (never an error)."""
    return (f"trim(case when json_valid({payload}) "
            f"then json_extract_string({payload}, '$.{member}') end)")


def payload_names_pupil(payload: str, person: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the pupil row aliased ``person``."""
    def member(name: str) -> str:
        return _payload_member(payload, name)

    return f"""(
        ({person}.upn is not null and upper({member('upn')}) = upper(trim({person}.upn)))
        or (
            {person}.forename is not null and {person}.surname is not null
            and {person}.date_of_birth is not null
            and lower({member('forename')}) = lower(trim({person}.forename))
            and lower({member('surname')}) = lower(trim({person}.surname))
            and {member('date_of_birth')} = strftime({person}.date_of_birth, '%Y-%m-%d')
        )
    )"""


def payload_names_employee(payload: str, person: str) -> str:
    """SQL predicate: the JSON text ``payload`` names the employee row aliased ``person``."""
    def member(name: str) -> str:
        return _payload_member(payload, name)

    return f"""(
        {member('employee_id')} = {person}.employee_id
        or ({person}.teacher_number is not null
            and {member('teacher_number')} = trim({person}.teacher_number))
        or ({person}.email is not null
            and lower({member('email')}) = lower(trim({person}.email)))
    )"""


def _payload_names(kind: str, payload: str, person: str) -> str | None:
    if kind == "pupil":
        return payload_names_pupil(payload, person)
    if kind == "employee":
        return payload_names_employee(payload, person)
    return None  # setup files are pupil (and staff) lists: a contact is never matched by name


def build_scope(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Create temp tables ``rights_scope`` and ``rights_setup_rows`` for ``subject``.

    ``rights_scope`` lists every retention subject that is about the person, in the engine's
    kinds: the person; a pupil's contacts; correspondence about them (loaded, or quarantined
    under an id no loaded item uses); setup imports with a row naming them (loaded or
    quarantined). Erasure erases exactly these, so whatever an access request shows (the
    quarantine included) an erasure request removes, and their suppression tokens keep a
    later extract from bringing any of it back.
    """
    spec = SUBJECT_TABLES[subject.kind]
    names = _payload_names(subject.kind, "imports.payload", "person")
    quarantined_names = _payload_names(subject.kind, "q.raw_values->>'payload'", "person")
    if names is None:
        setup_rows = "select import_id, row_number from raw.setup_imports where false"
        quarantined_imports = "select cast(null as varchar) as import_id where false"
    else:
        setup_rows = f"""
            select imports.import_id, imports.row_number
            from raw.setup_imports as imports
            inner join {spec.table} as person
                on imports.organisation_id = person.organisation_id
            where person.organisation_id = $org and person.{spec.id_column} = $id
                and {names}
        """
        quarantined_imports = f"""
            select trim(json_extract_string(q.raw_values, '$.import_id')) as import_id
            from raw.quarantine as q
            inner join {spec.table} as person
                on q.organisation_id = person.organisation_id
            where person.organisation_id = $org and person.{spec.id_column} = $id
                and {quarantined_names}
        """
    subject.query(con, f"create or replace temp table rights_setup_rows as {setup_rows}")
    contacts = (
        "select contact_id from raw.pupil_contacts where organisation_id = $org "
        "and pupil_id = $id" if subject.kind == "pupil"
        else "select cast(null as varchar) as contact_id where false"
    )
    own_kind = CORRESPONDENCE_KIND[subject.kind]

    def about(kind: str, subject_id: str) -> str:
        return f"""(
            ({kind} = '{own_kind}' and {subject_id} = $id)
            or ({kind} = 'contact' and {subject_id} in (select * from contacts))
        )"""

    member = "trim(json_extract_string(q.raw_values, '$.{}'))".format
    subject.query(
        con,
        f"""
        create or replace temp table rights_scope as
        with contacts as ({contacts}),
        correspondence as (
            select correspondence_id
            from raw.correspondence
            where organisation_id = $org and {about('subject_kind', 'subject_id')}
        ),
        quarantined_correspondence as (
            select {member('correspondence_id')} as correspondence_id
            from raw.quarantine as q
            where q.organisation_id = $org
                and {about(member('subject_kind'), member('subject_id'))}
                and {member('correspondence_id')} not in (
                    select correspondence_id from raw.correspondence
                    where organisation_id = $org
                )
        ),
        imports as (
            select import_id from rights_setup_rows
            union
            select import_id from ({quarantined_imports}) where import_id is not null
        )
        select '{subject.kind}' as subject_kind, cast($id as varchar) as subject_id
        union all
        select distinct 'pupil_contact', contact_id from contacts
        union all
        select distinct 'correspondence', correspondence_id from (
            select correspondence_id from correspondence
            union
            select correspondence_id from quarantined_correspondence
            where correspondence_id is not null
        )
        union all
        select distinct 'setup_import', import_id from imports
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
    ]
    if subject.kind == "pupil":
        person = ("(select * from raw.pupils where organisation_id = $org "
                  "and pupil_id = $id)")
        clauses += [
            f"{value('pupil_id')} = $id",
            f"({value('subject_kind')} = 'contact' and {value('subject_id')} in {contacts})",
            f"({value('contact_id')} in {contacts} and {value('pupil_id')} is null)",
            f"""exists (
                select 1 from {person} as person
                where {payload_names_pupil(f"{alias}.raw_values->>'payload'", 'person')}
                    or (person.upn is not null and upper({value('upn')}) = upper(person.upn))
            )""",
        ]
    elif subject.kind == "employee":
        person = ("(select * from raw.employees where organisation_id = $org "
                  "and employee_id = $id)")
        clauses += [
            f"{value('employee_id')} = $id",
            f"""exists (
                select 1 from {person} as person
                where {payload_names_employee(f"{alias}.raw_values->>'payload'", 'person')}
            )""",
        ]
    else:
        clauses.append(f"{value('contact_id')} = $id")
    return f"({alias}.organisation_id = $org and ({' or '.join(clauses)}))"


def identifying_values(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[tuple[str, str]]:
    """(what, value) pairs that identify the subject, for checking free text such as a reason.

    A pupil's include their contacts' names and contact details: a reason naming the parent
    identifies the child as surely as the child's own name.
    """
    queries = {
        "pupil": [
            ("select unnest(['MIS id', 'UPN', 'forename', 'surname', 'date of birth', "
             "'date of birth', 'email', 'phone', 'postcode', 'address']), "
             "unnest([pupil_id, upn, forename, surname, strftime(date_of_birth, '%Y-%m-%d'), "
             "strftime(date_of_birth, '%d/%m/%Y'), email, phone, postcode, address]) "
             "from raw.pupils where organisation_id = $org and pupil_id = $id"),
            ("select unnest(['contact id', 'contact forename', 'contact surname', "
             "'contact email', 'contact phone', 'contact address']), "
             "unnest([contact_id, forename, surname, email, phone, address]) "
             "from raw.pupil_contacts where organisation_id = $org and pupil_id = $id"),
        ],
        "employee": [
            ("select unnest(['MIS id', 'forename', 'surname', 'email', 'phone', "
             "'teacher number']), unnest([employee_id, forename, surname, email, phone, "
             "teacher_number]) from raw.employees where organisation_id = $org "
             "and employee_id = $id"),
        ],
        "pupil_contact": [
            ("select unnest(['MIS id', 'forename', 'surname', 'email', 'phone', 'address']), "
             "unnest([contact_id, forename, surname, email, phone, address]) "
             "from raw.pupil_contacts where organisation_id = $org and contact_id = $id"),
        ],
    }[subject.kind]
    values: list[tuple[str, str]] = []
    for sql in queries:
        values += [(what, str(value)) for what, value in subject.query(con, sql).fetchall()
                   if value is not None and str(value).strip()]
    return values
