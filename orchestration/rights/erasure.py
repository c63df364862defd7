"""Erasure on the controller's request: one pupil, employee or contact, now.

The controller (the organisation) may ask for one person's data to be erased before any rule
makes it due. The request goes through the retention engine exactly like a scheduled run
(orchestration/retention/apply.py): the subject becomes a row of ``run_subjects`` with rule
``erasure_request`` and a random surrogate; ``steps_from_subjects`` takes its kind's steps from
the action mapping (seeds/policy/retention_actions.csv), so a pupil is anonymised (and loses
contacts and quarantined copies) exactly as the two-year rule would do it, an employee keeps a
name only where they authored a report, and a contact is deleted. One transaction applies and
audits it (audit.retention_log / retention_runs, requested_by ``erasure_request``), the
subject's keyed token goes on the suppression list (so no later extract brings them back), and
the warehouse file is rewritten so no erased value survives in its bytes.

What is about the person is decided once, in :mod:`orchestration.rights.subjects` (the rules a
subject access request discloses by). Each related item is a subject of its own in the engine,
under a rule id of its own (the engine groups one statement per rule and step, so two kinds
must not share one): a pupil's contacts (``erasure_request_contact``; deleted with the pupil
anyway, this also suppresses each contact id and catches quarantined contact rows),
correspondence about the person or those contacts (``erasure_request_correspondence``, also
quarantined items) and setup imports naming them (below).

Setup-import rows naming the person (rule in :mod:`orchestration.rights.subjects`) hold their
UPN, names and date of birth, so they are erased too: otherwise the warehouse would still hold
the person while a later access request, which can no longer find them, answered "no data".
An import can only be erased whole (the suppression list, which stops a later extract bringing
rows back, names imports, not rows), so the imports naming the person are deleted whole, other
pupils' rows of them included, under rule ``erasure_request_setup_import``; the dry run lists
each one with its row counts first. (Setup data is kept only one year "to aid customer services
and in case of a dispute", so this brings other rows' deletion forward, never keeps anything
longer.) ``keep_setup_imports`` leaves them to their one-year rule and says so.

Refused, with nothing changed: an unknown, already erased or anonymised subject, and a subject
on a standing legal hold (a hold on the organisation, on the person, or for a contact on the
contact's pupil). A dry run (the default) executes the statements in a transaction that is
rolled back, so it shows exactly what ``--apply`` would change.

The controller's reason is kept in ``audit.subject_requests.reason`` so the erasure can be
justified later; a reason that contains the person's id, UPN, names, date of birth or contact
details (or, for a pupil, their contacts') is refused, because the audit trail must not
re-identify the person it records erasing.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

import duckdb

from orchestration import warehouse
from orchestration.errors import RefusedError, TinyTrackerError
from orchestration.retention import apply
from orchestration.rights import requests
from orchestration.rights.common import operator, relation_exists
from orchestration.rights.subjects import (
    Subject,
    UnknownSubjectError,
    build_scope,
    find_subject,
    identifying_values,
    payload_names_employee,
    payload_names_pupil,
)

ERASURE_RULE = "erasure_request"
REQUESTED_BY = "erasure_request"
RELATED_RULES = {
    "pupil_contact": "erasure_request_contact",
    "correspondence": "erasure_request_correspondence",
    "setup_import": "erasure_request_setup_import",
}
MIN_REASON_CHARS = 10
NEEDED_RELATIONS = (("retention", "retention_rules"), ("retention", "retention_actions"),
                    ("retention", "retention_plan"))


@dataclass(frozen=True)
class SetupImportNaming:
    """A setup import with rows naming the subject: erased whole, or left to its rule."""

    import_id: str
    rows_naming_subject: int
    rows_in_import: int
    due_on: dt.date | None
    erased: bool
    names_someone_on_hold: bool = False


@dataclass
class ErasureResult:
    """What an erasure request did (or, for a dry run, would do)."""

    subject: Subject
    run: apply.RunResult
    request: requests.SubjectRequest | None = None
    related: dict[str, int] = field(default_factory=dict)
    setup_imports: list[SetupImportNaming] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.run.dry_run


def check_reason(con: duckdb.DuckDBPyConnection, subject: Subject, reason: str) -> str:
    """The trimmed reason, or an error naming which identifier it contains (not its value)."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise TinyTrackerError(
            "give the controller's reason for the erasure (--reason, at least "
            f"{MIN_REASON_CHARS} characters), e.g. 'erasure request from the school, ticket 4411'"
        )
    text = reason.lower()
    digits = re.sub(r"\D", "", reason)
    for what, value in identifying_values(con, subject):
        needle = value.strip().lower()
        if len(needle) < 2:
            continue
        found = re.search(rf"(?<![0-9a-z]){re.escape(needle)}(?![0-9a-z])", text) is not None
        phone_digits = re.sub(r"\D", "", value)
        # a phone number written another way (spaces, +44) still ends in the same digits
        found = found or ("phone" in what and len(phone_digits) >= 6
                          and phone_digits[-6:] in digits)
        if found:
            raise TinyTrackerError(
                f"the reason contains the {subject.label}'s {what}: it is kept in "
                "audit.subject_requests, which must not identify the person it records erasing. "
                "Describe the request without the person's ids, names or contact details "
                "(e.g. 'erasure request from the school, ticket 4411')."
            )
    return reason


def standing_holds(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[str]:
    """Ids of standing legal holds that keep the subject: on the organisation, on the person,
    or for a contact on the contact's pupil (read from audit.legal_holds itself, never from a
    dbt view that may be stale)."""
    held = {
        "pupil": "subject_kind = 'pupil' and subject_id = $id",
        "employee": "subject_kind = 'employee' and subject_id = $id",
        "pupil_contact": "subject_kind = 'pupil' and subject_id in (select pupil_id "
                         "from raw.pupil_contacts where organisation_id = $org "
                         "and contact_id = $id)",
    }[subject.kind]
    sql = ("select hold_id from audit.legal_holds where organisation_id = $org "
           f"and released_at is null and (subject_kind = 'organisation' or ({held})) "
           "order by placed_at")
    return [hold_id for (hold_id,) in subject.query(con, sql).fetchall()]


def _run_subjects(con: duckdb.DuckDBPyConnection, subject: Subject,
                  keep_setup_imports: bool) -> None:
    """Temp table ``run_subjects``: everything ``rights_scope`` says is about the person.

    The person under ``erasure_request``; each related kind under a rule of its own (the
    engine groups statements by rule and step, so two kinds must not share a rule id).
    """
    rules = {**RELATED_RULES, subject.kind: ERASURE_RULE}
    if keep_setup_imports:
        rules.pop("setup_import")
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
        where subject_kind in ({', '.join(f"'{kind}'" for kind in rules)})
            and not (subject_kind = 'setup_import'
                     and subject_id in (select import_id from rights_held_imports))
        """,
    )


def _held_imports(con: duckdb.DuckDBPyConnection, subject: Subject) -> None:
    """Temp table ``rights_held_imports``: imports in scope naming someone on a legal hold.

    An import is erased whole, so one that also names another pupil or employee on a standing
    hold is kept (held data is never purged while the hold stands) and reported instead.
    """
    subject.query(
        con,
        f"""
        create or replace temp table rights_held_imports as
        with held as (
            select subject_kind, subject_id from audit.legal_holds
            where organisation_id = $org and released_at is null
        ),
        imports as (
            select * from raw.setup_imports
            where organisation_id = $org and import_id in (
                select subject_id from rights_scope where subject_kind = 'setup_import'
            )
        )
        select imports.import_id
        from imports
        inner join raw.pupils as person
            on imports.organisation_id = person.organisation_id
        inner join held on held.subject_kind = 'pupil' and held.subject_id = person.pupil_id
        where {payload_names_pupil('imports.payload', 'person')}
        union
        select imports.import_id
        from imports
        inner join raw.employees as person
            on imports.organisation_id = person.organisation_id
        inner join held
            on held.subject_kind = 'employee' and held.subject_id = person.employee_id
        where {payload_names_employee('imports.payload', 'person')}
        """,
    )


def _setup_imports_naming(con: duckdb.DuckDBPyConnection, subject: Subject,
                          keep_setup_imports: bool) -> list[SetupImportNaming]:
    due = ("(select min(due_on) from retention.retention_status as status "
           "where status.organisation_id = $org and status.subject_kind = 'setup_import' "
           "and status.subject_id = scope.subject_id)"
           if relation_exists(con, "retention", "retention_status") else "cast(null as date)")
    rows = subject.query(
        con,
        f"""
        select
            scope.subject_id,
            (select count(*) from rights_setup_rows as named
                where named.import_id = scope.subject_id),
            (select count(*) from raw.setup_imports as imports
                where imports.organisation_id = $org and imports.import_id = scope.subject_id),
            {due},
            scope.subject_id in (select import_id from rights_held_imports)
        from rights_scope as scope
        where scope.subject_kind = 'setup_import'
        order by 1
        """,
    ).fetchall()
    return [SetupImportNaming(import_id, naming, total, due_on,
                              erased=not keep_setup_imports and not held,
                              names_someone_on_hold=held)
            for import_id, naming, total, due_on, held in rows]


def _refused(con: duckdb.DuckDBPyConnection, request: requests.SubjectRequest | None,
             status: str, error: TinyTrackerError) -> TinyTrackerError:
    """Record a refused request (only when applying) and return the error to raise."""
    if request is not None:
        requests.record(con, request, status)
    return error


def erase_subject(kind: str, organisation_id: str, subject_id: str, reason: str, *,
                  apply_changes: bool = False, as_of: dt.date | None = None,
                  received_on: dt.date | None = None, keep_setup_imports: bool = False,
                  handled_by: str | None = None) -> ErasureResult:
    """Erase one subject on the controller's request (dry run unless ``apply_changes``).

    With ``apply_changes`` the request (and any refusal) is recorded in
    audit.subject_requests; a dry run records nothing and changes nothing.
    """
    if kind not in ("pupil", "employee", "pupil_contact"):
        raise TinyTrackerError(f"unknown subject kind {kind!r}: use pupil, employee or contact")
    as_of = as_of or dt.date.today()
    db = warehouse.db_path()
    if apply_changes:
        warehouse.secret()  # the suppression token needs it: fail before any work
        apply.finish_physical_erasure(as_of, db)  # an interrupted earlier run comes first
    con = warehouse.connect(db)
    try:
        apply.ensure_run_tables(con)
        missing = [f"{s}.{n}" for s, n in NEEDED_RELATIONS if not relation_exists(con, s, n)]
        if missing:
            raise TinyTrackerError(
                f"{', '.join(missing)} not built: build the warehouse first (tinytracker build)"
            )
        request = (requests.new_request("erasure", kind, organisation_id, received_on,
                                        operator(handled_by)) if apply_changes else None)
        try:
            subject = find_subject(con, kind, organisation_id, subject_id)
        except UnknownSubjectError as exc:
            raise _refused(con, request, exc.status, exc) from None
        holds = standing_holds(con, subject)
        if holds:
            raise _refused(con, request, "refused_legal_hold", RefusedError(
                f"{subject.label} {subject.subject_id} of {subject.organisation_id} is on legal "
                f"hold ({', '.join(holds)}): nothing was erased. Release the hold first "
                "(tinytracker hold release ID) if the dispute it serves is over."
            ))
        checked_reason = check_reason(con, subject, reason)
        build_scope(con, subject)
        result = ErasureResult(
            subject=subject,
            run=apply.RunResult(run_id=str(uuid.uuid4()), as_of=as_of,
                                dry_run=not apply_changes),
        )
        _held_imports(con, subject)
        result.setup_imports = _setup_imports_naming(con, subject, keep_setup_imports)

        def prepare() -> None:
            _run_subjects(con, subject, keep_setup_imports)
            apply.steps_from_subjects(con, as_of)
            result.related = dict(con.execute(
                "select subject_kind, count(*) from run_subjects where rule_id <> ? group by 1",
                [ERASURE_RULE],
            ).fetchall())
            if request is not None:
                result.request = requests.record(con, request, "completed",
                                                 run_id=result.run.run_id,
                                                 reason=checked_reason)

        if apply_changes:
            apply.apply_in_transaction(con, result.run, prepare, REQUESTED_BY)
        else:
            con.execute("begin transaction")
            try:
                prepare()
                apply.execute_steps(con, result.run, record_suppressions=False)
            finally:
                con.execute("rollback")
    finally:
        con.close()
    if apply_changes:
        result.run.physically_erased = apply.finish_physical_erasure(as_of, db)
    return result


def format_result(result: ErasureResult) -> str:
    """What the CLI prints: the steps (rows per table), the request, what is left and why."""
    run, subject = result.run, result.subject
    who = f"{subject.label} {subject.subject_id} of {subject.organisation_id}"
    lines = [f"erasure request {'(dry run) ' if run.dry_run else ''}for {who} - run {run.run_id}"]
    if run.steps:
        width = max(len(step.rule_id) for step in run.steps)
        lines.append(f"  {'rule':<{width}}  {'table':<24} {'action':<10} {'subjects':>9} "
                     f"{'rows':>9}")
        lines += [f"  {s.rule_id:<{width}}  {s.table_name:<24} {s.action:<10} "
                  f"{s.subjects:>9,} {s.rows:>9,}" for s in run.steps]
    related = ", ".join(f"{n} {kind.replace('_', ' ')} item(s)"
                        for kind, n in sorted(result.related.items()))
    verb = "would change" if run.dry_run else "changed"
    lines.append(f"  {run.rows:,} rows {verb}" + (f"; with the {subject.label}: {related}"
                                                  if related else ""))
    for named in result.setup_imports:
        others = named.rows_in_import - named.rows_naming_subject
        if named.due_on is None:
            rule = "its one-year rule has no date yet"
        elif named.due_on <= run.as_of:
            rule = f"its one-year rule made it due on {named.due_on}"
        else:
            rule = f"its one-year rule deletes it on {named.due_on}"
        if named.erased:
            lines.append(
                f"  setup import {named.import_id}: {'would be ' if run.dry_run else ''}deleted "
                f"whole ({named.rows_naming_subject} row(s) name the {subject.label}, {others} "
                f"are other pupils'; {rule}); --keep-setup-imports leaves it"
            )
        else:
            why = ("it also names someone on legal hold" if named.names_someone_on_hold
                   else "--keep-setup-imports")
            lines.append(
                f"  left as is: setup import {named.import_id} ({named.rows_naming_subject} "
                f"row(s) still name the {subject.label}; {why}; {rule})"
            )
    if run.dry_run:
        lines.append("  dry run: nothing was changed; add --apply to erase")
    else:
        if result.request is not None:
            lines.append(f"  request {result.request.request_id} recorded in "
                         f"audit.subject_requests (received {result.request.received_on}, due "
                         f"{result.request.due_on}, completed {result.request.completed_on})")
        lines.append("  the subject stays erased: later extracts' rows for them are dropped")
        lines.append(f"  backups still hold the erased data until {run.backups_clear_on} "
                     "(90 days)")
        if run.physically_erased:
            lines.append("  warehouse file rewritten: no erased value remains in its bytes")
    return "\n".join(lines)
