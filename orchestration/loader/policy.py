"""MIS permission and erasure suppression: rows the loader must not keep at all.

Both decide a row's *fate* before any validation, because a refused or suppressed row must not
reach the quarantine either: quarantining it would still be collecting (or resurrecting)
personal data. They are counted per file, never stored.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from orchestration.contract import FILES_BY_NAME, LandingFile
from orchestration.loader.rules import s
from orchestration.loader.sqltext import literal
from orchestration.warehouse import bind_secret, subject_token_sql

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

# References to another subject inside a row that is itself kept: a report stays when its
# author is anonymised, but the author id it carries must become the author's surrogate, or a
# reload would point the report back at the erased MIS id (file -> (kind, column)).
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
    count = con.execute("select count(*) from audit.erasure_suppressions").fetchone()[0]
    if not count:
        return False
    bind_secret(con)
    con.execute(
        "create or replace temp table tt_suppressed_orgs as "
        "select distinct subject_kind, organisation_id from audit.erasure_suppressions"
    )
    return True


def fate_sql(landing_file: LandingFile, value_of: ValueOf, suppressions: bool) -> str:
    """CASE expression: 'refused', 'suppressed' or 'keep' for one row."""
    org = value_of("organisation_id")
    branches = [
        f"when {org} in (select organisation_id from tt_refused) then '{FATE_REFUSED}'"
    ]
    if suppressions:
        tests = []
        for kind, column in SUPPRESSION_SUBJECTS[landing_file.name]:
            token = subject_token_sql(literal(kind), org, value_of(column))
            # Hash only rows of organisations that have suppressions of this kind.
            tests.append(
                f"(case when {org} in (select organisation_id from tt_suppressed_orgs "
                f"where subject_kind = {literal(kind)}) "
                f"then {token} in (select subject_token from audit.erasure_suppressions "
                f"where subject_kind = {literal(kind)}) else false end)"
            )
        if tests:
            branches.append(f"when {' or '.join(tests)} then '{FATE_SUPPRESSED}'")
    return "case " + " ".join(branches) + f" else '{FATE_KEEP}' end"


def create_refused(con: duckdb.DuckDBPyConnection, organisations_staged: bool,
                   naive_value: ValueOf | None) -> None:
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


def record_revocations(con: duckdb.DuckDBPyConnection, load_id: str,
                       loaded_at_sql: str) -> list[str]:
    """Set ``mis_permission = 'revoked'`` for organisations this extract revokes.

    Only that column (and the load bookkeeping) changes: the rest of the extract's row for the
    organisation is refused like all its other rows. An organisation the warehouse has never
    stored gets a row with only its id, name and the revocation (organisation data, not about
    any person), so a later extract without ``organisations.csv`` is refused for it too instead
    of its pupils' rows landing in quarantine as an unknown organisation.
    """
    con.execute(f"""
        insert into raw.organisations (organisation_id, name, mis_permission, _load_id,
            _loaded_at)
        select organisation_id, name, 'revoked', {literal(load_id)}, {loaded_at_sql}
        from tt_refused
        where revoked_by_extract and not in_warehouse
    """)
    rows = con.execute(f"""
        update raw.organisations
        set mis_permission = 'revoked', _load_id = {literal(load_id)}, _loaded_at = {loaded_at_sql}
        where organisation_id in (
            select organisation_id from tt_refused where revoked_by_extract and in_warehouse
        )
        and mis_permission is distinct from 'revoked'
        returning organisation_id
    """).fetchall()
    return sorted({str(row[0]) for row in rows})


def check_subject_columns() -> None:
    """Every suppression column is a contract column (guards against a renamed column)."""
    for file_name, subjects in SUPPRESSION_SUBJECTS.items():
        columns = FILES_BY_NAME[file_name].column_names
        for _, column in subjects:
            if column not in columns:
                raise AssertionError(f"{file_name}.{column} is not a contract column")


def rekeyed_reference_sql(con: duckdb.DuckDBPyConnection, landing_file: LandingFile,
                          column: str, value: str, org: str) -> str:
    """SQL for a reference column: the erased subject's surrogate if it was erased, else as given.

    Needs the secret bound (``prepare_suppressions``) when there are suppressions of the kind.
    """
    for kind, reference in REKEYED_REFERENCES.get(landing_file.name, ()):
        if reference != column:
            continue
        suppressed = con.execute(
            "select count(*) from audit.erasure_suppressions where subject_kind = ?", [kind]
        ).fetchone()[0]
        if not suppressed:
            return value
        token = subject_token_sql(literal(kind), org, value)
        return (
            f"coalesce((select erased.surrogate_id from audit.erasure_suppressions as erased "
            f"where erased.subject_kind = {literal(kind)} and erased.organisation_id = {org} "
            f"and erased.subject_token = {token}), {value})"
        )
    return value
