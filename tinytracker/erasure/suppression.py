"""The erasure suppression list: what a run records about the subjects it erased, and why.

``audit.erasure_suppressions`` keeps, per erased subject, a keyed token of its MIS id (no plain
identifier), so the loader drops a later extract's rows for it and a restore re-erases it.
It must not undo the anonymisation it records: a token is computable by anyone holding the
secret and an MIS id, so a row holding the token *and* the surrogate that the kept rows carry
would lead from ``P000001`` straight to his anonymised record, attendance and characteristics.
So ``surrogate_id`` is

- **null** for a subject anonymised in place (a pupil; an employee whose name was cleared):
  nothing on the list leads to the kept rows;
- a **fresh random id** for a deleted subject (contact, correspondence, setup import): nothing
  kept carries it; retention_status shows the deleted subject under it;
- the **kept row's surrogate** only for an employee whose name the policy keeps because they
  authored a historical report. That row is not anonymous (the name identifies them), so the
  map reveals nothing the row does not, and the loader needs it: a later extract's reports by
  that author must be re-keyed to the kept row (tinytracker/loading/policy.py
  ``REKEYED_REFERENCES``) instead of bringing the MIS id back.

``audit.erasure_identifiers`` adds keyed tokens of the person's other identifiers (UPN, name and
date of birth, teacher number, email, ...: :mod:`tinytracker.erasure.identifiers`) so a later
setup-import row naming them without an MIS id is recognised too. A deleted setup-import row
is suppressed by a token of its (import, row number), so an erasure that deletes one pupil's
rows of an import leaves the rest of the import (and later rows under its id) alone.
"""

from __future__ import annotations

import duckdb

from tinytracker.core import secret
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import identifiers

ANONYMISED_KINDS = ("pupil", "employee")
"""Kinds anonymised in place (the rest are deleted)."""
PERSON_KINDS = ("pupil", "employee", "pupil_contact")
"""Kinds that are people (a quarantined row an erasure deleted is listed under its person)."""

CORRESPONDENCE_KINDS = {"pupil": "pupil", "contact": "pupil_contact", "employee": "employee"}
"""correspondence.subject_kind (landing contract) -> suppression subject kind."""

PERSON_TABLES = {
    "pupil": ("raw.pupils", "pupil_id"),
    "employee": ("raw.employees", "employee_id"),
    "pupil_contact": ("raw.pupil_contacts", "contact_id"),
}


def token(kind: str, organisation_id: str, value: str) -> str:
    """SQL: the keyed token of ``value`` (SQL expressions; the secret must be bound)."""
    return secret.subject_token_sql(kind, organisation_id, value)


def setup_row_key(import_id: str, row_number: str) -> str:
    """SQL: what a deleted setup-import row is suppressed by (its import id and row number).

    ``row_number`` may be text as given in an extract (``007``): it is read as an integer.
    """
    return (
        f"'row=' || {import_id} || '#' || "
        f"cast(try_cast(trim(cast({row_number} as varchar)) as bigint) as varchar)"
    )


def quarantine_row_key(load_id: str, file_name: str, line_number: str) -> str:
    """SQL: what a quarantined row an erasure request deleted on its own is suppressed by
    (a restore deletes it again; the loader never sees quarantined rows)."""
    return (
        f"'quarantine=' || {load_id} || '#' || {file_name} || '#' || "
        f"coalesce(cast({line_number} as varchar), '')"
    )


def correspondence_kind(subject_kind: str) -> str:
    """SQL: the suppression kind of a correspondence row's ``subject_kind`` (null if none)."""
    cases = " ".join(f"when '{k}' then '{v}'" for k, v in CORRESPONDENCE_KINDS.items())
    return f"(case lower({subject_kind}) {cases} end)"


def payload_tokens(payload: str, organisation_id: str) -> str:
    """SQL list: tokens of every identifier the JSON text ``payload`` carries, of every kind."""
    lists = [
        f"list_transform({identifiers.payload_identifiers(kind, payload)}, "
        f"lambda v: {token(repr(kind), organisation_id, 'v')})"
        for kind in identifiers.KINDS
    ]
    return f"flatten([{', '.join(lists)}])"


def capture_identifiers(con: duckdb.DuckDBPyConnection) -> None:
    """Before a run changes anything: the identifiers of the people in ``run_subjects``.

    Temp table ``run_identifiers`` (kind, organisation, MIS id, identifier string): read before
    the statements clear what it reads. (The contacts a pupil's anonymisation deletes need no
    row of their own: a later extract's contact rows carry the pupil's id, which is listed.)
    """
    selects = []
    for kind, (table, key) in PERSON_TABLES.items():
        selects.append(f"""
            select run_subjects.subject_kind, run_subjects.organisation_id,
                run_subjects.subject_id,
                unnest({identifiers.person_identifiers(kind, "person")}) as identifier
            from run_subjects
            inner join {table} as person
                on person.organisation_id = run_subjects.organisation_id
                and person.{key} = run_subjects.subject_id
            where run_subjects.subject_kind = '{kind}'
        """)
    # contacts a pupil's anonymisation deletes with the pupil: listed as erased contacts too
    # (under the pupil's rule, with no surrogate: retention_status shows them through their
    # pupil), so correspondence about them, or the contact re-sent under a new MIS, stays out
    con.execute(
        """
        create or replace temp table run_contacts_of_pupils as
        select distinct contacts.organisation_id, contacts.contact_id, pupils.rule_id
        from run_subjects as pupils
        inner join raw.pupil_contacts as contacts
            on contacts.organisation_id = pupils.organisation_id
            and contacts.pupil_id = pupils.subject_id
        where pupils.subject_kind = 'pupil'
            and exists (
                select 1 from run_steps
                where run_steps.subject_kind = 'pupil'
                    and run_steps.organisation_id = pupils.organisation_id
                    and run_steps.subject_id = pupils.subject_id
                    and run_steps.table_name = 'raw.pupil_contacts'
                    and run_steps.action = 'delete'
            )
            and not exists (
                select 1 from run_subjects as own
                where own.subject_kind = 'pupil_contact'
                    and own.organisation_id = contacts.organisation_id
                    and own.subject_id = contacts.contact_id
            )
        """
    )
    selects.append(f"""
        select 'pupil_contact', contacts.organisation_id, contacts.contact_id,
            unnest({identifiers.person_identifiers("pupil_contact", "person")}) as identifier
        from run_contacts_of_pupils as contacts
        inner join raw.pupil_contacts as person
            on person.organisation_id = contacts.organisation_id
            and person.contact_id = contacts.contact_id
    """)
    con.execute("create or replace temp table run_identifiers as " + " union all ".join(selects))


def record_subjects(con: duckdb.DuckDBPyConnection, as_of: object, run_id: str) -> None:
    """After a run's statements: put its subjects on the list (see the module docstring).

    Needs ``run_subjects``, ``run_steps`` and :func:`capture_identifiers`' tables, and the
    secret bound. Whether an employee's name was kept is read from the re-keyed row itself.
    """
    subject = token(
        "run_subjects.subject_kind", "run_subjects.organisation_id", "run_subjects.subject_id"
    )
    con.execute(
        f"""
        insert into audit.erasure_suppressions (subject_kind, organisation_id, subject_token,
            surrogate_id, rule_id, actioned_on, run_id)
        select
            run_subjects.subject_kind,
            run_subjects.organisation_id,
            {subject},
            case
                when not exists (
                    select 1 from run_steps
                    where run_steps.organisation_id = run_subjects.organisation_id
                        and run_steps.subject_kind = run_subjects.subject_kind
                        and run_steps.subject_id = run_subjects.subject_id
                        and run_steps.action = 'anonymise'
                ) then cast(gen_random_uuid() as varchar)
                when run_subjects.subject_kind = 'employee' and exists (
                    select 1 from raw.employees as kept
                    where kept.organisation_id = run_subjects.organisation_id
                        and kept.employee_id = run_subjects.surrogate_id
                        and (kept.forename is not null or kept.surname is not null)
                ) then run_subjects.surrogate_id
            end,
            run_subjects.rule_id,
            cast($as_of as date),
            $run_id
        from run_subjects
        """,
        {"as_of": as_of, "run_id": run_id},
    )
    con.execute(
        f"""
        insert into audit.erasure_suppressions (subject_kind, organisation_id, subject_token,
            surrogate_id, rule_id, actioned_on, run_id)
        select 'pupil_contact', organisation_id,
            {token("'pupil_contact'", "organisation_id", "contact_id")},
            null, rule_id, cast($as_of as date), $run_id
        from run_contacts_of_pupils
        """,
        {"as_of": as_of, "run_id": run_id},
    )
    con.execute(
        f"""
        insert into audit.erasure_identifiers
        select distinct
            subject_kind,
            organisation_id,
            {token("subject_kind", "organisation_id", "subject_id")},
            {identifiers.identifier_name("identifier")},
            {token("subject_kind", "organisation_id", "identifier")},
            $run_id
        from run_identifiers
        """,
        {"run_id": run_id},
    )


def record_rows(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    kind: str,
    key: str,
    rule_id: str,
    as_of: object,
    run_id: str,
) -> None:
    """Suppress rows an erasure request deleted on their own, listed in relation ``rows``
    (``organisation_id`` and the columns ``key`` reads): setup-import rows under kind
    ``setup_import`` (:func:`setup_row_key`), so only those rows and never their whole import
    are suppressed; quarantined rows under the person's kind (:func:`quarantine_row_key`)."""
    row_token = token(f"'{kind}'", "organisation_id", key)
    con.execute(
        f"""
        insert into audit.erasure_suppressions (subject_kind, organisation_id, subject_token,
            surrogate_id, rule_id, actioned_on, run_id)
        select distinct '{kind}', organisation_id, {row_token}, null, $rule_id,
            cast($as_of as date), $run_id
        from {rows}
        """,
        {"rule_id": rule_id, "as_of": as_of, "run_id": run_id},
    )


def _linking_surrogate(alias: str) -> str:
    """SQL predicate: the suppression row ``alias`` links its token to an anonymous record."""
    return f"""(
        {alias}.surrogate_id is not null
        and ({alias}.subject_kind = 'pupil' or ({alias}.subject_kind = 'employee'
            and not exists (
                select 1 from raw.employees as kept
                where kept.organisation_id = {alias}.organisation_id
                    and kept.employee_id = {alias}.surrogate_id
                    and (kept.forename is not null or kept.surname is not null)
            )))
    )"""


def unlink_anonymised(con: duckdb.DuckDBPyConnection) -> int:
    """Clear surrogates that link a token to an anonymous record (rows of older runs, or of
    an older ledger carried over by a restore); returns how many."""
    return int(
        scalar(
            con,
            "update audit.erasure_suppressions as listed set surrogate_id = null "
            f"where {_linking_surrogate('listed')}",
        )
    )
