"""Erasure on the controller's request: one pupil, employee or contact, now.

The controller (the organisation) may ask for one person's data to be erased before any rule
makes it due. The request goes through the retention engine exactly like a scheduled run
(:mod:`tinytracker.erasure`): the subject becomes a row of ``run_subjects`` with rule
``erasure_request`` and a random surrogate; ``steps_from_subjects`` takes its kind's steps from
the action mapping (seeds/policy/retention_actions.csv), so a pupil is anonymised (and loses
contacts) exactly as the two-year rule would do it, an employee keeps a name only where they
authored a report, and a contact is deleted. One transaction applies and audits it
(audit.retention_log / retention_runs, requested_by ``erasure_request``), the subject's keyed
tokens go on the suppression list (so no later extract brings them back), and the warehouse
file is rewritten so no erased value survives in its bytes.

What is about the person is decided once, in :mod:`tinytracker.rights.subjects` (the rules a
subject access request discloses by). Each related item is a subject of its own in the engine,
under a rule id of its own (the engine groups one statement per rule and step, so two kinds
must not share one): a pupil's contacts (``erasure_request_contact``; deleted with the pupil
anyway, this also suppresses each contact id) and correspondence about the person or those
contacts (``erasure_request_correspondence``, also quarantined items).

Two kinds of row are erased on their own, in the same transaction, because other people's rows
sit beside them:

- **setup-import rows naming the person** (UPN, names, date of birth): only those rows are
  deleted (rule ``erasure_request_setup_import``), never the rest of their import, and only
  those rows are suppressed (by import id and row number), so the import keeps loading for
  everyone else. ``keep_setup_imports`` leaves them to their one-year rule; a row that also
  names someone on a standing legal hold is kept. Either way the output says so, an access
  request still lists them, and the erase output does not claim the person is gone;
- **quarantined rows naming the person** (by any rule an access request shows them by:
  rule ``erasure_request_quarantine``), each suppressed by its own key so a restore from a
  backup deletes it again.

Refused, with nothing changed: an unknown, already erased or anonymised subject, and a subject
on a standing legal hold (a hold on the organisation, on the person, or for a contact on the
contact's pupil). A dry run (the default) executes the statements in a transaction that is
rolled back, so it shows exactly what ``--apply`` would change.

The controller's reason (a category) and case reference (``--ticket``) are kept in
``audit.subject_requests`` so the erasure can be justified later; free text is refused, and a
reference that contains the person's id, UPN, names, date of birth or contact
details (or, for a pupil, their contacts') is refused, because the audit trail must not
re-identify the person it records erasing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import duckdb

from tinytracker.core.errors import RefusedError, TinyTrackerError
from tinytracker.core.operator import operator
from tinytracker.core.paths import db_path
from tinytracker.core.secret import secret
from tinytracker.core.warehouse import connect, relation_exists
from tinytracker.erasure import rows
from tinytracker.erasure.result import RunResult
from tinytracker.erasure.steps import steps_from_subjects
from tinytracker.erasure.transaction import (
    apply_in_transaction,
    dry_run_in_transaction,
    ensure_tables,
)
from tinytracker.rights import requests
from tinytracker.rights.erasure_checks import check_reason, standing_holds
from tinytracker.rights.lookup import find_subject
from tinytracker.rights.subjects import (
    Subject,
    UnknownSubjectError,
    build_scope,
    payload_names_employee,
    payload_names_pupil,
    quarantine_predicate,
)

ERASURE_RULE = "erasure_request"
REQUESTED_BY = "erasure_request"
RELATED_RULES = {
    "pupil_contact": "erasure_request_contact",
    "correspondence": "erasure_request_correspondence",
}
SETUP_ROWS_RULE = "erasure_request_setup_import"
QUARANTINE_RULE = "erasure_request_quarantine"
NEEDED_RELATIONS = (
    ("retention", "retention_hold_coverage"),
    ("retention", "retention_rules"),
    ("retention", "retention_actions"),
    ("retention", "retention_plan"),
)


@dataclass(frozen=True)
class SetupImportNaming:
    """A setup import with rows naming the subject: those rows deleted, or left and why."""

    import_id: str
    rows_naming_subject: int
    rows_in_import: int
    due_on: dt.date | None
    rows_erased: int
    rows_naming_someone_on_hold: int = 0

    @property
    def rows_left(self) -> int:
        """Rows naming the subject that stay (``--keep-setup-imports`` or a legal hold)."""
        return self.rows_naming_subject - self.rows_erased


@dataclass
class ErasureResult:
    """What an erasure request did (or, for a dry run, would do)."""

    subject: Subject
    run: RunResult
    request: requests.SubjectRequest | None = None
    related: dict[str, int] = field(default_factory=dict)
    setup_imports: list[SetupImportNaming] = field(default_factory=list)
    keep_setup_imports: bool = False

    @property
    def applied(self) -> bool:
        return not self.run.dry_run

    @property
    def setup_rows_left(self) -> int:
        return sum(named.rows_left for named in self.setup_imports)


def _run_subjects(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Temp table ``run_subjects``: the person, their contacts and correspondence about them.

    The person under ``erasure_request``; each related kind under a rule of its own (the
    engine groups statements by rule and step, so two kinds must not share a rule id).
    Setup-import and quarantined rows are erased row by row (:func:`_erase_own_rows`).
    """
    rules = {**RELATED_RULES, subject.kind: ERASURE_RULE}
    cases = " ".join(f"when '{kind}' then '{rule}'" for kind, rule in rules.items())
    subject.query(
        con,
        f"""
        create or replace temp table run_subjects as
        select
            cast($org as varchar) as organisation_id,
            subject_kind,
            subject_id,
            case subject_kind {cases} end as rule_id,
            cast(gen_random_uuid() as varchar) as surrogate_id
        from rights_scope
        where subject_kind in ({", ".join(f"'{kind}'" for kind in rules)})
        """,
    )


def _held_rows(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Temp table ``rights_held_setup_rows``: rows naming the subject that also name another
    pupil or employee on a standing legal hold (held data is never purged while the hold
    stands)."""
    subject.query(
        con,
        f"""
        create or replace temp table rights_held_setup_rows as
        with held as (
            select distinct subject_kind, subject_id from retention.retention_hold_coverage
            where organisation_id = $org and subject_kind in ('pupil', 'employee')
        ),
        named as (
            select imports.* from raw.setup_imports as imports
            semi join rights_setup_rows using (organisation_id, import_id, row_number)
        )
        select named.import_id, named.row_number
        from named
        inner join raw.pupils as person on named.organisation_id = person.organisation_id
        inner join held on held.subject_kind = 'pupil' and held.subject_id = person.pupil_id
        where {payload_names_pupil("named.payload", "person")}
        union
        select named.import_id, named.row_number
        from named
        inner join raw.employees as person on named.organisation_id = person.organisation_id
        inner join held
            on held.subject_kind = 'employee' and held.subject_id = person.employee_id
        where {payload_names_employee("named.payload", "person")}
        """,
    )


def _setup_imports_naming(
    con: duckdb.DuckDBPyConnection, subject: Subject, keep_setup_imports: bool
) -> list[SetupImportNaming]:
    """Per import with rows naming the subject: how many, of how many, and what happens."""
    due = (
        "(select min(due_on) from retention.retention_status as status "
        "where status.organisation_id = $org and status.subject_kind = 'setup_import' "
        "and status.subject_id = named.import_id)"
        if relation_exists(con, "retention", "retention_status")
        else "cast(null as date)"
    )
    rows = subject.query(
        con,
        f"""
        select
            named.import_id,
            count(*),
            (select count(*) from raw.setup_imports as imports
                where imports.organisation_id = $org and imports.import_id = named.import_id),
            {due},
            count(held.row_number)
        from rights_setup_rows as named
        left join rights_held_setup_rows as held using (import_id, row_number)
        group by named.import_id
        order by 1
        """,
    ).fetchall()
    return [
        SetupImportNaming(
            import_id,
            naming,
            total,
            due_on,
            rows_erased=0 if keep_setup_imports else naming - held,
            rows_naming_someone_on_hold=held,
        )
        for import_id, naming, total, due_on, held in rows
    ]


def _erase_own_rows(
    con: duckdb.DuckDBPyConnection,
    subject: Subject,
    run: RunResult,
    keep_setup_imports: bool,
    record: bool,
) -> None:
    """Inside the run's transaction: choose the setup-import rows naming the subject (not
    their imports) and the quarantined rows naming them; the engine erases them."""
    subject.query(
        con,
        f"""
        create or replace temp table rights_erased_setup_rows as
        select * from rights_setup_rows
        where not {keep_setup_imports}
            and (import_id, row_number) not in (
                select (import_id, row_number) from rights_held_setup_rows
            )
    """,
    )
    subject.query(
        con,
        f"""
        create or replace temp table rights_erased_quarantine as
        select q.organisation_id, q.load_id, q.file_name, q.line_number, q.rowid as row_id
        from raw.quarantine as q
        where {quarantine_predicate(subject)}
    """,
    )
    rows.erase_setup_rows(con, run, "rights_erased_setup_rows", SETUP_ROWS_RULE, record=record)
    rows.erase_quarantined_rows(
        con, run, "rights_erased_quarantine", subject.kind, QUARANTINE_RULE, record=record
    )


def _refused(
    con: duckdb.DuckDBPyConnection,
    request: requests.SubjectRequest | None,
    status: str,
    error: TinyTrackerError,
) -> TinyTrackerError:
    """Record a refused request (only when applying) and return the error to raise."""
    if request is not None:
        requests.record(con, request, status)
    return error


def erase_subject(
    kind: str,
    organisation_id: str,
    subject_id: str,
    reason: str,
    *,
    ticket: str | None = None,
    apply_changes: bool = False,
    as_of: dt.date | None = None,
    received_on: dt.date | None = None,
    keep_setup_imports: bool = False,
    handled_by: str | None = None,
) -> ErasureResult:
    """Erase one subject on the controller's request (dry run unless ``apply_changes``).

    With ``apply_changes`` the request (and any refusal) is recorded in
    audit.subject_requests; a dry run records nothing and changes nothing.
    """
    if kind not in ("pupil", "employee", "pupil_contact"):
        raise TinyTrackerError(f"unknown subject kind {kind!r}: use pupil, employee or contact")
    as_of = as_of or dt.date.today()
    db = db_path()
    if apply_changes:
        secret()  # the suppression token needs it: fail before any work
    con = connect(db)
    try:
        ensure_tables(con)
        missing = [f"{s}.{n}" for s, n in NEEDED_RELATIONS if not relation_exists(con, s, n)]
        if missing:
            raise TinyTrackerError(
                f"{', '.join(missing)} not built: build the warehouse first (tinytracker build)"
            )
        request = (
            requests.new_request(
                "erasure", kind, organisation_id, received_on, operator(handled_by)
            )
            if apply_changes
            else None
        )
        try:
            subject = find_subject(con, kind, organisation_id, subject_id)
        except UnknownSubjectError as exc:
            raise _refused(con, request, exc.status, exc) from None
        holds = standing_holds(con, subject)
        if holds:
            raise _refused(
                con,
                request,
                "refused_legal_hold",
                RefusedError(
                    f"{subject.label} {subject.subject_id} of {subject.organisation_id} is on "
                    "legal "
                    f"hold ({', '.join(holds)}): nothing was erased. Release the hold first "
                    "(tinytracker hold release ID) if the dispute it serves is over."
                ),
            )
        checked_reason, checked_ticket = check_reason(con, subject, reason, ticket)
        build_scope(con, subject)
        result = ErasureResult(
            subject=subject,
            run=RunResult(run_id=str(uuid.uuid4()), as_of=as_of, dry_run=not apply_changes),
            keep_setup_imports=keep_setup_imports,
        )
        _held_rows(con, subject)
        result.setup_imports = _setup_imports_naming(con, subject, keep_setup_imports)

        def prepare() -> None:
            _run_subjects(con, subject)
            steps_from_subjects(con, as_of)
            result.related = dict(
                con.execute(
                    "select subject_kind, count(*) from run_subjects where rule_id <> ? group by 1",
                    [ERASURE_RULE],
                ).fetchall()
            )
            _erase_own_rows(con, subject, result.run, keep_setup_imports, record=apply_changes)
            if request is not None:
                result.request = requests.record(
                    con,
                    request,
                    "completed",
                    run_id=result.run.run_id,
                    reason=checked_reason,
                    ticket=checked_ticket,
                )

        if apply_changes:
            apply_in_transaction(con, result.run, prepare, REQUESTED_BY, derived_rows=True)
        else:
            dry_run_in_transaction(con, result.run, prepare)
    finally:
        con.close()
    return result
