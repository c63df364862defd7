"""What a subject access request discloses: one SQL section per relation, and what is left out.

Each section is one query over a warehouse relation, filtered by the subject's scope (built by
:func:`tinytracker.rights.subjects.build_scope`, the same rules erasure uses). Every table that
can hold a person's row is either a section here or named in :data:`NOT_INCLUDED` with the
reason, so the bundle says where everything is.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from tinytracker.core import policy
from tinytracker.core.warehouse import relation_exists
from tinytracker.rights.subjects import (
    Subject,
    quarantine_predicate,
)

INTERMEDIATE_SCHEMA = "intermediate"


IN_SCOPE = "select subject_id from rights_scope where subject_kind = '{kind}'"


@dataclass(frozen=True)
class Section:
    """One table's rows about the subject: the bundle's unit."""

    name: str
    description: str
    sql: str
    requires: tuple[str, str] | None = None
    """(schema, relation) dbt must have built; without it the section is listed as not built."""


def _shared_sections(subject: Subject) -> list[Section]:
    """Sections of both kinds: correspondence, setup imports, quarantine, retention, holds."""
    kind = subject.kind
    return [
        Section(
            "raw.correspondence",
            "General correspondence about the person"
            + (" or about one of the pupil's contacts." if kind == "pupil" else "."),
            "select * from raw.correspondence where organisation_id = $org and "
            f"correspondence_id in ({IN_SCOPE.format(kind='correspondence')}) "
            "order by sent_on, correspondence_id",
        ),
        Section(
            "raw.setup_imports",
            "Rows of files sent during the initial setup whose payload names the person "
            "(rule: docs/subject-rights.md).",
            "select imports.* from raw.setup_imports as imports "
            "semi join rights_setup_rows using (import_id, row_number) "
            "where imports.organisation_id = $org order by import_id, row_number",
        ),
        Section(
            "raw.quarantine",
            "Rows the loader refused (they broke the landing contract) whose raw values name "
            "the person; kept as given.",
            f"select * from raw.quarantine as q where {quarantine_predicate(subject)} "
            "order by quarantined_at, file_name, line_number",
        ),
        Section(
            "retention.retention_status",
            "When each item about the person is deleted or anonymised, under which rule, and "
            "until when backups keep a copy.",
            "select status.* from retention.retention_status as status "
            "semi join rights_scope using (subject_kind, subject_id) "
            "where status.organisation_id = $org "
            "order by subject_kind, subject_id, due_on, rule_id",
            requires=("retention", "retention_status"),
        ),
        Section(
            "retention.retention_plan",
            "Deletions and anonymisations of the person's data that are due and planned for "
            "the next retention run.",
            "select plan.* from retention.retention_plan as plan "
            "semi join rights_scope using (subject_kind, subject_id) "
            "where plan.organisation_id = $org order by subject_kind, subject_id, step",
            requires=("retention", "retention_plan"),
        ),
        Section(
            "audit.legal_holds",
            "Legal holds placed on this person: while one stands nothing about them is "
            "deleted or anonymised.",
            f"select * from audit.legal_holds where organisation_id = $org "
            f"and subject_kind = '{kind}' and subject_id in ($id, $rid) order by placed_at",
        ),
        Section(
            "audit.legal_holds (organisation)",
            "Legal holds on the whole organisation, which also keep the person's data; the "
            "reason and the operators are withheld: they concern the organisation.",
            "select hold_id, organisation_id, subject_kind, placed_at, released_at "
            "from audit.legal_holds where organisation_id = $org "
            "and subject_kind = 'organisation' order by placed_at",
        ),
    ]


def _pupil_sections(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[Section]:
    key = "organisation_id = $org and pupil_id = $id"
    sections = [
        Section(
            "raw.pupils",
            "The pupil record as loaded from the organisation's MIS.",
            f"select * from raw.pupils where {key}",
        ),
        Section(
            "raw.pupil_contacts",
            "The pupil's named contacts (parents, carers).",
            f"select * from raw.pupil_contacts where {key} order by priority, contact_id",
        ),
        Section(
            "raw.attendance_sessions",
            "Every AM and PM register mark of the pupil.",
            f"select * from raw.attendance_sessions where {key} order by session_date, session",
        ),
        Section(
            "raw.assessments",
            "Statutory assessment results of the pupil.",
            f"select * from raw.assessments where {key} order by academic_year, assessment",
        ),
        Section(
            "raw.sen_records",
            "Special educational needs provision of the pupil.",
            f"select * from raw.sen_records where {key} order by start_date, provision",
        ),
        Section(
            "raw.reports",
            "Reports about the pupil and who wrote them.",
            f"select * from raw.reports where {key} order by issued_on, report_id",
        ),
        *_shared_sections(subject),
        Section(
            f"{INTERMEDIATE_SCHEMA}.int_pupil_keys",
            "The random key that stands for the pupil in the de-identified analytic layer.",
            f"select * from {INTERMEDIATE_SCHEMA}.int_pupil_keys where {key}",
            requires=(INTERMEDIATE_SCHEMA, "int_pupil_keys"),
        ),
    ]
    if relation_exists(con, INTERMEDIATE_SCHEMA, "int_pupil_keys"):
        # every de-identified table keyed by pupil_key: found from the catalogue, so a new
        # intermediate model is disclosed without changing this file
        keyed = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_columns() where schema_name = ? "
                "and column_name = 'pupil_key' and table_name <> 'int_pupil_keys' "
                "order by table_name",
                [INTERMEDIATE_SCHEMA],
            ).fetchall()
        ]
        sections += [
            Section(
                f"{INTERMEDIATE_SCHEMA}.{name}",
                "De-identified rows derived from the pupil's data (keyed by the pupil's "
                "random key, used only to build the aggregate marts).",
                f'select * from {INTERMEDIATE_SCHEMA}."{name}" where pupil_key in '
                f"(select pupil_key from {INTERMEDIATE_SCHEMA}.int_pupil_keys where {key}) "
                "order by all",
            )
            for name in keyed
        ]
    return sections


def _employee_sections(subject: Subject) -> list[Section]:
    """The employee's record and reports (``$rid``: after an erasure, the record kept under a
    surrogate because their name is kept as a report author), then the shared sections."""
    key = "organisation_id = $org and employee_id = $rid"
    record = (
        "The employee record as loaded from the organisation's MIS."
        if not subject.is_erased
        else "The employee record as kept after the erasure: the policy keeps the name of the "
        "author of historical reports; every other detail was cleared and the MIS id "
        "replaced by a random surrogate."
    )
    return [
        Section("raw.employees", record, f"select * from raw.employees where {key}"),
        Section(
            "raw.reports",
            "Reports the employee wrote (their name is kept on historical reports); the "
            "pupil each report is about is withheld: that is the pupil's data.",
            "select organisation_id, report_id, author_employee_id, title, issued_on, _extra, "
            "_load_id, _loaded_at from raw.reports where organisation_id = $org "
            "and author_employee_id = $rid order by issued_on, report_id",
        ),
        *_shared_sections(subject),
    ]


NOT_INCLUDED: dict[str, str] = {
    "marts.*": "aggregates of groups of at least var('min_cell_size') pupils, with small cells "
    "suppressed: no row is about one person.",
    "staging.*": "views that show the raw rows above, renamed; nothing more.",
    "raw.load_log": "one row per file and load with counts; names no person.",
    "raw.organisations": "the organisation's contract and consent; names no person.",
    "audit.retention_log, audit.retention_runs": "counts per retention run and rule; name no "
    "person.",
    "audit.erasure_suppressions, audit.erasure_identifiers": "keyed tokens of subjects "
    "already erased and of their identifiers; tokens cannot be read back into ids. For "
    "a person already erased the bundle's subject block says when and by which rule.",
    "anonymised records": "after an erasure the person's anonymised rows (attendance, "
    "assessments, characteristics under a random surrogate) are not "
    "theirs any more: nothing in the warehouse links them back to the "
    "person, so no request can find them.",
    "audit.subject_requests": "holds no subject id by design, so earlier requests about this "
    "person cannot be listed from the warehouse; the controller "
    "traces them by the request ids it was given.",
    "audit.shares, audit.organisation_changes": "organisation-level records; name no person.",
    "backups": "copies of the warehouse kept {backup_days} days hold the data as it was on "
    "their date.",
}


def not_included() -> dict[str, str]:
    """What the bundle leaves out and why, with the backup period the policy seed states."""
    days = policy.backup_retention_days()
    return {where: why.replace("{backup_days}", str(days)) for where, why in NOT_INCLUDED.items()}


def sections_for(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[Section]:
    """The sections to run for this subject: an erased pupil gets only the shared ones, as no
    record of theirs remains (their anonymised rows are not theirs any more)."""
    if subject.kind == "employee":
        return _employee_sections(subject)
    if subject.is_erased:  # no record of an erased pupil is theirs any more
        return _shared_sections(subject)
    return _pupil_sections(con, subject)
