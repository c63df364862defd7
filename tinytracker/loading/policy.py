"""MIS permission and erasure suppression: rows the loader must not keep at all.

Both decide a row's *fate* before any validation, because a refused or suppressed row must not
reach the quarantine either: quarantining it would still be collecting (or resurrecting)
personal data. They are counted per file, never stored.

A row is suppressed when it refers to any erased subject (audit.erasure_suppressions, keyed
tokens: tinytracker/erasure/suppression.py), not only when it repeats a row already erased:

- any row keyed by an erased pupil, employee or contact id, and a contact row of an erased
  pupil (``SUPPRESSION_SUBJECTS``);
- correspondence about an erased pupil, contact or employee, by its ``subject_kind`` and
  ``subject_id``, whatever its own id (``CORRESPONDENCE_SUBJECT``);
- a person row (pupils, employees, contacts) whose UPN, name and date of birth, teacher number,
  email or name with email or phone is an erased person's: the same person re-sent under a new
  MIS id (a school that changed MIS); the new id then goes on the list too
  (:func:`record_returning_people`), so every row under it is dropped;
- a setup-import row of an import deleted whole by its one-year rule, a row deleted on its own
  (an erasure request deletes only the rows naming the person: ``SETUP_ROW``), and any row whose
  payload names an erased person by an identifier on audit.erasure_identifiers (UPN, pupil or
  employee id, name and date of birth, teacher number, email: the rule of
  tinytracker/erasure/identifiers.py). A payload names no one the list has no token for: a
  payload naming a person only by a name without a date of birth, or by an identifier the
  person's record did not hold when they were erased, is loaded.

Every test is one set-based expression or an uncorrelated subquery over the staged file; rows
of organisations with nothing suppressed are never hashed.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from tinytracker.core.contract import FILES_BY_NAME, LandingFile
from tinytracker.core.secret import bind_secret, subject_token_sql
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import identifiers, suppression
from tinytracker.loading.rules import s
from tinytracker.loading.sqltext import literal

# Which ids in which landing file identify an erased subject (audit.erasure_suppressions
# subject_kind -> column). A pupil's erasure reaches every row about that pupil.
SUPPRESSION_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "organisations": (),
    "pupils": (("pupil", "pupil_id"),),
    "pupil_contacts": (("pupil", "pupil_id"), ("pupil_contact", "contact_id")),
    "attendance_sessions": (("pupil", "pupil_id"),),
    "assessments": (("pupil", "pupil_id"),),
    "sen_records": (("pupil", "pupil_id"),),
    "reports": (("pupil", "pupil_id"),),
    "employees": (("employee", "employee_id"),),
    "correspondence": (("correspondence", "correspondence_id"),),
    "setup_imports": (("setup_import", "import_id"),),
}

# Columns naming the person a correspondence row is about: (kind column, id column).
CORRESPONDENCE_SUBJECT = ("subject_kind", "subject_id")
# Columns that identify one setup-import row: (import id, row number).
SETUP_ROW = ("import_id", "row_number")
# JSON columns whose content may name an erased person (file -> column).
PAYLOAD_COLUMNS = {"setup_imports": "payload"}

# References to another subject inside a row that is itself kept: a report stays when its
# author is anonymised, but the author id it carries must not bring the erased MIS id back.
# It becomes the author's surrogate where the author's name was kept (the one case the
# suppression list keeps that map, because that record is not anonymous), else null
# (file -> (kind, column)).
REKEYED_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "reports": (("employee", "author_employee_id"),),
}

FATE_KEEP = "keep"
FATE_REFUSED = "refused"
FATE_SUPPRESSED = "suppressed"

ValueOf = Callable[[str], str]
"""Maps a contract column to the SQL expression of its trimmed value."""


def prepare_suppressions(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any subject is suppressed; if so bind the secret its tokens are keyed with.

    The secret is only required when there is something to match, so a fresh warehouse loads
    without one.
    """
    count = scalar(con, "select count(*) from audit.erasure_suppressions")
    if not count:
        return False
    bind_secret(con)
    con.execute(
        "create or replace temp table tt_suppressed_orgs as "
        "select distinct subject_kind, organisation_id from audit.erasure_suppressions"
    )
    con.execute(
        "create or replace temp table tt_identifier_tokens as "
        "select distinct organisation_id, identifier_token from audit.erasure_identifiers"
    )
    return True


def _kind_test(kind: str, org: str, value: str) -> str:
    """A token test for one kind, hashing only rows of organisations with such suppressions."""
    token = subject_token_sql(literal(kind), org, value)
    return (
        f"(case when {org} in (select organisation_id from tt_suppressed_orgs "
        f"where subject_kind = {literal(kind)}) "
        f"then {token} in (select subject_token from audit.erasure_suppressions "
        f"where subject_kind = {literal(kind)}) else false end)"
    )


def _correspondence_test(org: str, value_of: ValueOf) -> str:
    kind_column, id_column = CORRESPONDENCE_SUBJECT
    kind = suppression.correspondence_kind(value_of(kind_column))
    token = subject_token_sql(kind, org, value_of(id_column))
    kinds = ", ".join(literal(k) for k in suppression.CORRESPONDENCE_KINDS.values())
    return (
        f"(case when {org} in (select organisation_id from tt_suppressed_orgs "
        f"where subject_kind in ({kinds})) "
        f"then {token} in (select subject_token from audit.erasure_suppressions "
        f"where subject_kind = {kind}) else false end)"
    )


def _payload_test(org: str, value_of: ValueOf, column: str) -> str:
    """The row's line is among the lines whose payload carries an erased identifier.

    One uncorrelated subquery over the file (staged rows, or the lines the CSV reader could
    not split, read by position): the payloads of organisations with identifiers on the list
    are unnested into tokens and semi-joined to the list.
    """
    source = "tt_numbered" if value_of is s else "tt_malformed"
    tokens = suppression.payload_tokens(value_of(column), org)
    return f"""__tt_line in (
        select named.__tt_line from (
            select __tt_line, unnest({tokens}) as identifier_token
            from {source}
            where {org} in (select organisation_id from tt_identifier_tokens)
        ) as named
        semi join tt_identifier_tokens as known
            on known.identifier_token = named.identifier_token
    )"""


def _row_identifier_tokens(kind: str, org: str, value_of: ValueOf) -> str:
    """SQL list: keyed tokens of the identifiers an incoming person row carries."""
    return (
        f"list_transform({identifiers.row_identifiers(kind, value_of)}, "
        f"lambda v: {subject_token_sql(literal(kind), org, 'v')})"
    )


def _returning_person_test(kind: str, org: str, value_of: ValueOf) -> str:
    """The row is a person the list knows by another identifier than this MIS id: an erased
    pupil re-sent under a new id by a school that changed MIS, by UPN or name and date of
    birth (tinytracker/erasure/identifiers.py says what recognises whom).

    One uncorrelated subquery over the file, like :func:`_payload_test`.
    """
    source = "tt_numbered" if value_of is s else "tt_malformed"
    return f"""__tt_line in (
        select named.__tt_line from (
            select __tt_line, unnest({_row_identifier_tokens(kind, org, value_of)})
                as identifier_token
            from {source}
            where {org} in (select organisation_id from tt_identifier_tokens)
        ) as named
        semi join tt_identifier_tokens as known
            on known.identifier_token = named.identifier_token
    )"""


def record_returning_people(con: duckdb.DuckDBPyConnection, landing_file: LandingFile) -> int:
    """List the new MIS ids of erased people this file sends again, as the erased person.

    After :func:`fate_sql` has suppressed a person row recognised by its identifiers, its new
    id goes on the suppression list (same rule, date and run as the erasure it repeats, no
    link to kept rows), so the rest of this load and every later one drop the rows under it
    (a re-sent pupil's attendance, contacts, results) by id. Returns the ids added.
    """
    kind = identifiers.RETURNING_PERSON_FILES.get(landing_file.name)
    if kind is None:
        return 0
    key = next(column for k, column in SUPPRESSION_SUBJECTS[landing_file.name] if k == kind)
    org, subject = s("organisation_id"), s(key)
    new_token = subject_token_sql(literal(kind), "incoming.organisation_id", "incoming.subject_id")
    con.execute(
        f"""
        create or replace temp table tt_returning as
        with incoming as (
            select {org} as organisation_id, {subject} as subject_id,
                unnest({_row_identifier_tokens(kind, org, s)}) as identifier_token
            from tt_all
            where __tt_fate = '{FATE_SUPPRESSED}' and {subject} is not null
        )
        select incoming.organisation_id, incoming.subject_id, {new_token} as subject_token,
            listed.surrogate_id, listed.rule_id, listed.actioned_on, listed.run_id
        from incoming
        inner join audit.erasure_identifiers as known
            on known.subject_kind = {literal(kind)}
            and known.organisation_id = incoming.organisation_id
            and known.identifier_token = incoming.identifier_token
        inner join audit.erasure_suppressions as listed
            on listed.subject_kind = known.subject_kind
            and listed.organisation_id = known.organisation_id
            and listed.subject_token = known.subject_token
        where {new_token} not in (
            select subject_token from audit.erasure_suppressions
            where subject_kind = {literal(kind)}
        )
        qualify row_number() over (
            partition by incoming.organisation_id, incoming.subject_id
            order by listed.actioned_on, listed.rule_id
        ) = 1
        """
    )
    added = con.execute(
        f"""
        insert into audit.erasure_suppressions (subject_kind, organisation_id, subject_token,
            surrogate_id, rule_id, actioned_on, run_id)
        select {literal(kind)}, organisation_id, subject_token, surrogate_id, rule_id,
            actioned_on, run_id
        from tt_returning
        """
    ).fetchall()[0][0]
    id_token = subject_token_sql(literal(kind), "organisation_id", "'id=' || subject_id")
    con.execute(
        f"""
        insert into audit.erasure_identifiers
        select {literal(kind)}, organisation_id, subject_token, 'id', {id_token}, run_id
        from tt_returning
        """
    )
    con.execute(
        f"insert into tt_identifier_tokens select organisation_id, {id_token} from tt_returning"
    )
    con.execute("drop table tt_returning")
    return int(added)


def fate_sql(landing_file: LandingFile, value_of: ValueOf, suppressions: bool) -> str:
    """CASE expression: 'refused', 'suppressed' or 'keep' for one row."""
    org = value_of("organisation_id")
    branches = [f"when {org} in (select organisation_id from tt_refused) then '{FATE_REFUSED}'"]
    if suppressions:
        tests = [
            _kind_test(kind, org, value_of(column))
            for kind, column in SUPPRESSION_SUBJECTS[landing_file.name]
        ]
        if landing_file.name == "correspondence":
            tests.append(_correspondence_test(org, value_of))
        if landing_file.name == "setup_imports":
            import_id, row_number = SETUP_ROW
            tests.append(
                _kind_test(
                    "setup_import",
                    org,
                    suppression.setup_row_key(value_of(import_id), value_of(row_number)),
                )
            )
        if landing_file.name in PAYLOAD_COLUMNS:
            tests.append(_payload_test(org, value_of, PAYLOAD_COLUMNS[landing_file.name]))
        if landing_file.name in identifiers.RETURNING_PERSON_FILES:
            kind = identifiers.RETURNING_PERSON_FILES[landing_file.name]
            tests.append(_returning_person_test(kind, org, value_of))
        if tests:
            branches.append(f"when {' or '.join(tests)} then '{FATE_SUPPRESSED}'")
    return "case " + " ".join(branches) + f" else '{FATE_KEEP}' end"


def create_refused(
    con: duckdb.DuckDBPyConnection, organisations_staged: bool, naive_value: ValueOf | None
) -> None:
    """``tt_refused``: organisations revoked in the warehouse or by this extract.

    An extract may revoke but never re-grant: ``granted`` in the extract for an organisation
    revoked in the warehouse is still refused (re-granting is a deliberate CLI action). Any
    organisations row saying ``revoked`` counts, even one that fails validation or that the
    CSV reader could not split (read by position), so a broken row cannot bypass a revocation.
    """
    if organisations_staged:
        extract_rows = (
            f"select {s('organisation_id')} as organisation_id, {s('name')} as name, "
            f"coalesce(lower({s('mis_permission')}) = 'revoked', false) as revoked "
            "from tt_stage"
        )
        if naive_value is not None:
            extract_rows += (
                f" union all select {naive_value('organisation_id')}, null, "
                f"coalesce(lower({naive_value('mis_permission')}) = 'revoked', false) "
                "from tt_malformed"
            )
    else:
        extract_rows = (
            "select null::varchar as organisation_id, null::varchar as name, "
            "false as revoked where false"
        )
    con.execute(f"""
        create or replace temp table tt_refused as
        with extract_orgs as (
            select organisation_id, max(name) as name, bool_or(revoked) as revoked
            from ({extract_rows})
            where organisation_id is not null
            group by organisation_id
        ),
        warehouse_orgs as (
            select organisation_id, max(name) as name,
                bool_or(mis_permission = 'revoked') as revoked
            from raw.organisations
            group by organisation_id
        )
        select
            organisation_id,
            coalesce(e.name, w.name) as name,
            coalesce(e.revoked, false) as revoked_by_extract,
            coalesce(w.revoked, false) as revoked_in_warehouse,
            w.organisation_id is not null as in_warehouse
        from extract_orgs as e
        full outer join warehouse_orgs as w using (organisation_id)
        where coalesce(e.revoked, false) or coalesce(w.revoked, false)
    """)


def check_subject_columns() -> None:
    """Every suppression column is a contract column (guards against a renamed column)."""
    named = [
        (file_name, column)
        for file_name, subjects in SUPPRESSION_SUBJECTS.items()
        for _, column in subjects
    ]
    named += [("correspondence", column) for column in CORRESPONDENCE_SUBJECT]
    named += [("setup_imports", column) for column in SETUP_ROW]
    named += list(PAYLOAD_COLUMNS.items())
    named += [
        (file_name, column)
        for file_name, references in REKEYED_REFERENCES.items()
        for _, column in references
    ]
    for file_name, column in named:
        if column not in FILES_BY_NAME[file_name].column_names:
            raise AssertionError(f"{file_name}.{column} is not a contract column")


def rekeyed_reference_sql(
    con: duckdb.DuckDBPyConnection, landing_file: LandingFile, column: str, value: str, org: str
) -> str:
    """SQL for a reference column: as given, unless it names an erased subject.

    Then the erased subject's kept surrogate (an author whose name was kept), or null (an
    anonymous record: the list keeps no way to it, and the MIS id must not come back). Needs
    the secret bound (``prepare_suppressions``) when there are suppressions of the kind.
    """
    for kind, reference in REKEYED_REFERENCES.get(landing_file.name, ()):
        if reference != column:
            continue
        suppressed = scalar(
            con, "select count(*) from audit.erasure_suppressions where subject_kind = ?", [kind]
        )
        if not suppressed:
            return value
        token = subject_token_sql(literal(kind), org, value)
        erased = (
            f"from audit.erasure_suppressions as erased "
            f"where erased.subject_kind = {literal(kind)} and erased.organisation_id = {org} "
            f"and erased.subject_token = {token}"
        )
        return (
            f"(case when {value} is not null and exists (select 1 {erased}) "
            f"then (select max(erased.surrogate_id) {erased}) else {value} end)"
        )
    return value
