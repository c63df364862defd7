"""The landing contract (../shared/spec/landing-contract.md) as data.

One description of every landing file drives the loader's typing and validation, the
generator's output and the tests, so the contract is written down once. Column names here
are the contract's and are never renamed; code lists live in ``seeds/`` so dbt tests and the
loader read the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "date", "boolean", "integer"]
PersonalDataClass = Literal["direct_identifier", "quasi_identifier", "special_category"]


@dataclass(frozen=True)
class Column:
    """One contract column: its SQL type, whether it may be empty, and its code list."""

    name: str
    type: ColumnType = "text"
    required: bool = False
    value_set: str | None = None
    """Name of a value set in ``seeds/value_sets.csv`` or a seed of its own (see CODE_SEEDS)."""
    personal_data: PersonalDataClass | None = None


@dataclass(frozen=True)
class ReferenceTarget:
    """One kind of subject a reference column can name: its landing file and id column."""

    file: str
    id_column: str
    erased_kind: str
    """``audit.erasure_suppressions.subject_kind`` of the subject: an erased subject (absent from
    the warehouse under its MIS id) still counts as one the organisation has."""
    when_kind: str | None = None
    """The value of the reference's ``kind_column`` for which this target applies."""


@dataclass(frozen=True)
class Reference:
    """A column that must name a subject the organisation has (an orphan rule).

    Checked against the warehouse after this extract's earlier files are loaded (files load in
    contract order), so a subject sent earlier, or in this extract, is known.
    """

    column: str
    rule: str
    targets: tuple[ReferenceTarget, ...]
    kind_column: str | None = None
    """Column saying which kind of subject ``column`` names (correspondence.subject_kind)."""


@dataclass(frozen=True)
class LandingFile:
    """One landing file (``<name>.csv`` or ``<name>.parquet``) and the raw table it fills."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    pupil_column: str | None = None
    """Column that must name a pupil of the same organisation (orphan rule)."""
    date_order: tuple[tuple[str, str], ...] = ()
    """Pairs (earlier, later): a row where ``later < earlier`` breaks the contract."""
    references: tuple[Reference, ...] = ()
    """Columns that must name another subject of the organisation (orphan rules)."""
    within_enrolment: str | None = None
    """Date column that must lie within the pupil's admission_date..leaving_date."""
    unique_per_organisation: tuple[str, ...] = ()
    """Columns no two subjects of one organisation may share (rule ``duplicate_<column>``)."""
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


ORG = Column("organisation_id", required=True)

LANDING_FILES: tuple[LandingFile, ...] = (
    LandingFile(
        name="organisations",
        description="Customer organisations and their contract, consent and MIS permission.",
        columns=(
            ORG,
            Column("name"),
            Column("organisation_type", value_set="organisation_type"),
            Column("trust_id"),
            Column("contract_start", "date"),
            Column("contract_end", "date"),
            Column("anonymise_requested_on", "date"),
            Column("mis_permission", required=True, value_set="mis_permission"),
            Column("share_with_trust", "boolean"),
        ),
        key=("organisation_id",),
        date_order=(("contract_start", "contract_end"),),
    ),
    LandingFile(
        name="pupils",
        description="Pupils on roll, or once on roll, at the organisation.",
        columns=(
            ORG,
            Column("pupil_id", required=True),
            Column("upn", personal_data="direct_identifier"),
            Column("forename", personal_data="direct_identifier"),
            Column("surname", personal_data="direct_identifier"),
            Column("date_of_birth", "date", personal_data="direct_identifier"),
            Column("gender", value_set="gender", personal_data="quasi_identifier"),
            Column("address", personal_data="direct_identifier"),
            Column("postcode", personal_data="direct_identifier"),
            Column("email", personal_data="direct_identifier"),
            Column("phone", personal_data="direct_identifier"),
            Column("ethnicity", value_set="ethnicity", personal_data="special_category"),
            Column("first_language", value_set="language", personal_data="quasi_identifier"),
            Column("fsm_eligible", "boolean", personal_data="quasi_identifier"),
            Column("sen_provision", value_set="sen_provision", personal_data="special_category"),
            Column("year_group", value_set="year_group", personal_data="quasi_identifier"),
            Column("admission_date", "date", personal_data="quasi_identifier"),
            Column("leaving_date", "date", personal_data="quasi_identifier"),
        ),
        key=("organisation_id", "pupil_id"),
        date_order=(("date_of_birth", "admission_date"), ("admission_date", "leaving_date")),
        unique_per_organisation=("upn",),
    ),
    LandingFile(
        name="pupil_contacts",
        description="Named contacts (parents, carers) of a pupil.",
        columns=(
            ORG,
            Column("contact_id", required=True),
            Column("pupil_id", required=True),
            Column("forename", personal_data="direct_identifier"),
            Column("surname", personal_data="direct_identifier"),
            Column("relationship", personal_data="quasi_identifier"),
            Column("email", personal_data="direct_identifier"),
            Column("phone", personal_data="direct_identifier"),
            Column("address", personal_data="direct_identifier"),
            Column("priority", "integer"),
        ),
        key=("organisation_id", "contact_id"),
        pupil_column="pupil_id",
    ),
    LandingFile(
        name="attendance_sessions",
        description="One AM or PM register mark per pupil and school day.",
        columns=(
            ORG,
            Column("pupil_id", required=True),
            Column("session_date", "date", required=True),
            Column("session", required=True, value_set="session"),
            Column("mark", required=True, value_set="attendance_code"),
        ),
        key=("organisation_id", "pupil_id", "session_date", "session"),
        pupil_column="pupil_id",
        within_enrolment="session_date",
    ),
    LandingFile(
        name="assessments",
        description="Statutory assessment outcomes (EYFSP, phonics, MTC, KS2, GCSE).",
        columns=(
            ORG,
            Column("pupil_id", required=True),
            Column("academic_year", required=True),
            Column("assessment", required=True, value_set="assessment"),
            Column("result", required=True),
            Column("assessed_on", "date"),
        ),
        key=("organisation_id", "pupil_id", "academic_year", "assessment"),
        pupil_column="pupil_id",
    ),
    LandingFile(
        name="sen_records",
        description="Special educational needs provision episodes.",
        columns=(
            ORG,
            Column("pupil_id", required=True),
            Column(
                "provision",
                required=True,
                value_set="sen_record_provision",
                personal_data="special_category",
            ),
            Column("primary_need", value_set="sen_primary_need", personal_data="special_category"),
            Column("start_date", "date", required=True),
            Column("end_date", "date"),
            Column("notes", personal_data="special_category"),
        ),
        key=("organisation_id", "pupil_id", "provision", "start_date"),
        pupil_column="pupil_id",
        date_order=(("start_date", "end_date"),),
    ),
    LandingFile(
        name="employees",
        description="Staff of the organisation who use Tiny Tracker or appear on reports.",
        columns=(
            ORG,
            Column("employee_id", required=True),
            Column("forename", personal_data="direct_identifier"),
            Column("surname", personal_data="direct_identifier"),
            Column("gender", value_set="gender", personal_data="quasi_identifier"),
            Column("email", personal_data="direct_identifier"),
            Column("phone", personal_data="direct_identifier"),
            Column("role", personal_data="quasi_identifier"),
            Column("teaching_status", value_set="teaching_status"),
            Column("teacher_number", personal_data="direct_identifier"),
            Column("start_date", "date"),
            Column("leaving_date", "date"),
        ),
        key=("organisation_id", "employee_id"),
        date_order=(("start_date", "leaving_date"),),
    ),
    LandingFile(
        name="reports",
        description="Historical pupil reports and the employee who authored each.",
        columns=(
            ORG,
            Column("report_id", required=True),
            Column("pupil_id", required=True),
            Column("author_employee_id"),
            Column("title"),
            Column("issued_on", "date"),
        ),
        key=("organisation_id", "report_id"),
        pupil_column="pupil_id",
        references=(
            Reference(
                "author_employee_id",
                "orphan_employee",
                (ReferenceTarget("employees", "employee_id", "employee"),),
            ),
        ),
    ),
    LandingFile(
        name="correspondence",
        description="General correspondence regarding named individuals.",
        columns=(
            ORG,
            Column("correspondence_id", required=True),
            Column("subject_kind", required=True, value_set="correspondence_subject_kind"),
            Column("subject_id", required=True),
            Column("sent_on", "date"),
            Column("channel", value_set="channel"),
            Column("summary", personal_data="direct_identifier"),
        ),
        key=("organisation_id", "correspondence_id"),
        references=(
            Reference(
                "subject_id",
                "orphan_subject",
                (
                    ReferenceTarget("pupils", "pupil_id", "pupil", when_kind="pupil"),
                    ReferenceTarget(
                        "pupil_contacts", "contact_id", "pupil_contact", when_kind="contact"
                    ),
                    ReferenceTarget("employees", "employee_id", "employee", when_kind="employee"),
                ),
                kind_column="subject_kind",
            ),
        ),
    ),
    LandingFile(
        name="setup_imports",
        description="Rows of files sent for initial setup, kept one year after processing.",
        columns=(
            ORG,
            Column("import_id", required=True),
            Column("file_name"),
            Column("received_on", "date"),
            Column("processed_on", "date"),
            Column("row_number", "integer", required=True),
            Column("payload", personal_data="direct_identifier"),
        ),
        key=("organisation_id", "import_id", "row_number"),
        date_order=(("received_on", "processed_on"),),
    ),
)

FILES_BY_NAME: dict[str, LandingFile] = {f.name: f for f in LANDING_FILES}

# Value sets that have a seed of their own (richer than a code list); every other value set
# is the rows of ``seeds/value_sets.csv`` with that ``value_set``.
CODE_SEEDS: dict[str, str] = {
    "attendance_code": "attendance_codes",
    "ethnicity": "ethnicity_codes",
    "language": "language_codes",
    "sen_primary_need": "sen_primary_need_codes",
    "assessment": "assessment_types",
    "year_group": "year_groups",
}

# Quarantine rule names: the ``rule`` column of ``raw.quarantine``. Public: the DPO and the
# platform team filter on them.
QUARANTINE_RULES: dict[str, str] = {
    "missing_required": "a key or required column is empty",
    "control_character": "a value holding a control character (NUL, escape, ...) that no MIS "
    "writes: an id with one would make a new subject nothing else refers to",
    "bad_date": "a date that does not parse as YYYY-MM-DD or lies outside 1900-2100",
    "bad_boolean": "a boolean that is not true/false",
    "bad_integer": "an integer column that does not parse (or a priority that is not positive)",
    "unknown_code": "a value outside its code list",
    "bad_upn": "a UPN of the wrong shape or whose check letter is wrong",
    "mark_not_valid_on_date": "an attendance code not in force on its session date",
    "bad_assessment_result": "a result outside the range or codes of its assessment",
    "bad_academic_year": "an academic year not written YYYY/YY with consecutive years",
    "dates_out_of_order": "a later date before its earlier one (e.g. leaving before admission)",
    "duplicate_key": "the same key twice in one extract file",
    "duplicate_upn": "a UPN another pupil of the organisation already has (on an earlier line "
    "of the file, or in the warehouse): the later row is quarantined",
    "unknown_organisation": "an organisation_id with no organisations row",
    "orphan_pupil": "a pupil_id that no pupil row of the organisation has",
    "orphan_employee": "a report's author_employee_id that no employee row of the organisation "
    "has (an erased employee counts as known)",
    "orphan_subject": "a correspondence subject_id that names no pupil, contact or employee "
    "(by subject_kind) of the organisation (an erased subject counts as known)",
    "session_outside_enrolment": "an attendance mark dated before the pupil's admission_date "
    "or after their leaving_date",
    "malformed_row": (
        "a line the CSV reader cannot split into the header's columns (e.g. truncated), or "
        "with more fields than the header, even empty ones"
    ),
}

TRUE_FALSE = ("true", "false")
