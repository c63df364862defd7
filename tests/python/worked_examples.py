"""The retention spec's worked examples and edge cases as warehouse rows.

``load_worked_examples`` writes a small, hand-made warehouse: every rule, the date edges the
spec names (31 July / 31 August / 1 September leavers, 29 February, month ends, missing
triggers), an anonymised pupil, a deleted contact, holds on an organisation, a pupil and an
employee. The pytest suite builds dbt on it for 2025-10-01 and 2026-10-01 and checks the
statuses, due dates and plan the spec implies; it is also a quick way to see the retention
models at work (from the project folder: ``.venv/bin/python tests/python/worked_examples.py``,
then ``tinytracker build --as-of 2025-10-01``). A test fixture, not part of the library: it
writes ``raw.*`` rows directly, which only the loader and the erasure engine do in the
product.

``write_extract`` writes the same subjects as a landing-contract extract (one CSV file per
entity), so the examples can also go the way real data goes: ``tinytracker load DIR``, holds
through ``tinytracker hold add``, then ``tinytracker build --as-of 2025-10-01``. Only what an
MIS extract can carry is in it: the anonymised pupil, the suppression list and the quarantined
row are written by retention runs and the loader, never delivered.

Organisations:
    ORG-RUN   contract running; most pupils, contacts, employees and imports live here.
    ORG-END   contract ended 2023-08-31 (pupils due 2025-08-31, contacts 2024-02-29).
    ORG-REQ   contract running, customer asked for anonymisation on 2025-09-15.
    ORG-TIE   contract ended 2023-09-01: both pupil rules fall due on 2025-09-01 for a pupil
              who left 2023-07-01.
    ORG-HOLD  contract ended 2022-12-31 and the whole organisation is on legal hold.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from tinytracker.core import paths, schema, warehouse
from tinytracker.core.contract import LANDING_FILES
from tinytracker.erasure.cohort import record_birth_cohorts
from tinytracker.retention import holds

D = dt.date.fromisoformat

ORGANISATIONS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "name": "Running School",
        "contract_start": D("2019-09-01"),
        "contract_end": None,
    },
    {
        "organisation_id": "ORG-END",
        "name": "Ended School",
        "contract_start": D("2018-09-01"),
        "contract_end": D("2023-08-31"),
    },
    {
        "organisation_id": "ORG-REQ",
        "name": "Requesting School",
        "contract_start": D("2020-09-01"),
        "contract_end": None,
        "anonymise_requested_on": D("2025-09-15"),
    },
    {
        "organisation_id": "ORG-TIE",
        "name": "Tie Nursery",
        "organisation_type": "nursery",
        "contract_start": D("2019-09-01"),
        "contract_end": D("2023-09-01"),
    },
    {
        "organisation_id": "ORG-HOLD",
        "name": "Disputed School",
        "contract_start": D("2017-09-01"),
        "contract_end": D("2022-12-31"),
    },
)

PUPILS: Sequence[Mapping[str, object]] = (
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0720", "leaving_date": D("2023-07-20")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0731", "leaving_date": D("2023-07-31")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0831", "leaving_date": D("2023-08-31")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0901", "leaving_date": D("2023-09-01")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0229", "leaving_date": D("2024-02-29")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-2025", "leaving_date": D("2025-08-31")},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-ON-ROLL", "leaving_date": None},
    {"organisation_id": "ORG-RUN", "pupil_id": "P-HELD", "leaving_date": D("2022-07-15")},
    # anonymised in place on 2025-09-02: identifiers cleared, pupil_id is its surrogate
    {
        "organisation_id": "ORG-RUN",
        "pupil_id": "S-PUPIL-1",
        "leaving_date": D("2023-07-01"),
        "forename": None,
        "surname": None,
        "upn": None,
        "date_of_birth": None,
        "anonymised_on": D("2025-09-02"),
        "anonymised_by_rule_id": "left_pupils_2_academic_years",
    },
    {"organisation_id": "ORG-END", "pupil_id": "P-END-LEFT", "leaving_date": D("2023-07-10")},
    {"organisation_id": "ORG-END", "pupil_id": "P-END-ROLL", "leaving_date": None},
    {"organisation_id": "ORG-REQ", "pupil_id": "P-REQ-ROLL", "leaving_date": None},
    {"organisation_id": "ORG-REQ", "pupil_id": "P-REQ-LEFT", "leaving_date": D("2023-06-01")},
    {"organisation_id": "ORG-TIE", "pupil_id": "P-TIE", "leaving_date": D("2023-07-01")},
    {"organisation_id": "ORG-HOLD", "pupil_id": "P-ORG-HELD", "leaving_date": None},
)

PUPIL_CONTACTS: Sequence[Mapping[str, object]] = (
    {"organisation_id": "ORG-RUN", "contact_id": "C-0720", "pupil_id": "P-LEFT-0720"},
    {"organisation_id": "ORG-RUN", "contact_id": "C-0831", "pupil_id": "P-LEFT-0831"},
    {"organisation_id": "ORG-RUN", "contact_id": "C-2025", "pupil_id": "P-LEFT-2025"},
    {"organisation_id": "ORG-RUN", "contact_id": "C-ON-ROLL", "pupil_id": "P-ON-ROLL"},
    {"organisation_id": "ORG-RUN", "contact_id": "C-HELD", "pupil_id": "P-HELD"},
    {"organisation_id": "ORG-END", "contact_id": "C-END-ROLL", "pupil_id": "P-END-ROLL"},
)

EMPLOYEES: Sequence[Mapping[str, object]] = (
    {"organisation_id": "ORG-RUN", "employee_id": "E-AUTHOR", "leaving_date": D("2025-01-31")},
    {"organisation_id": "ORG-RUN", "employee_id": "E-NO-REPORT", "leaving_date": D("2025-08-15")},
    {"organisation_id": "ORG-RUN", "employee_id": "E-CURRENT", "leaving_date": None},
    {"organisation_id": "ORG-RUN", "employee_id": "E-HELD", "leaving_date": D("2024-12-31")},
    {"organisation_id": "ORG-END", "employee_id": "E-END", "leaving_date": None},
    {"organisation_id": "ORG-HOLD", "employee_id": "E-ORG-HELD", "leaving_date": None},
)

REPORTS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "report_id": "R-1",
        "pupil_id": "P-LEFT-0720",
        "author_employee_id": "E-AUTHOR",
        "title": "Year 6 report",
        "issued_on": D("2023-07-01"),
    },
)

ATTENDANCE_SESSIONS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "pupil_id": "P-LEFT-0720",
        "session_date": D("2023-07-03"),
        "session": "AM",
        "mark": "/",
    },
    {
        "organisation_id": "ORG-RUN",
        "pupil_id": "P-LEFT-0720",
        "session_date": D("2023-07-03"),
        "session": "PM",
        "mark": "\\",
    },
)

ASSESSMENTS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "pupil_id": "P-LEFT-0720",
        "academic_year": "2022/23",
        "assessment": "KS2_READ",
        "result": "104",
        "assessed_on": D("2023-05-09"),
    },
)

SEN_RECORDS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "pupil_id": "P-LEFT-0720",
        "provision": "K",
        "primary_need": "SPLD",
        "start_date": D("2021-09-01"),
        "notes": "Reading support",
    },
)

CORRESPONDENCE: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-END",
        "correspondence_id": "K-END",
        "subject_kind": "pupil",
        "subject_id": "P-END-ROLL",
        "sent_on": D("2023-05-01"),
        "channel": "email",
    },
    {
        "organisation_id": "ORG-RUN",
        "correspondence_id": "K-ABOUT-HELD",
        "subject_kind": "pupil",
        "subject_id": "P-HELD",
        "sent_on": D("2022-06-01"),
        "channel": "letter",
    },
    {
        "organisation_id": "ORG-HOLD",
        "correspondence_id": "K-ORG-HELD",
        "subject_kind": "employee",
        "subject_id": "E-ORG-HELD",
        "sent_on": D("2022-10-01"),
        "channel": "email",
    },
)

SETUP_IMPORTS: Sequence[Mapping[str, object]] = (
    {
        "organisation_id": "ORG-RUN",
        "import_id": "I-0229",
        "row_number": 1,
        "processed_on": D("2024-02-29"),
        "payload": '{"surname": "Example"}',
    },
    {
        "organisation_id": "ORG-RUN",
        "import_id": "I-0229",
        "row_number": 2,
        "processed_on": D("2024-02-29"),
        "payload": '{"surname": "Sample"}',
    },
    {
        "organisation_id": "ORG-RUN",
        "import_id": "I-2025",
        "row_number": 1,
        "processed_on": D("2025-06-30"),
        "payload": "{}",
    },
    {
        "organisation_id": "ORG-RUN",
        "import_id": "I-UNPROCESSED",
        "row_number": 1,
        "processed_on": None,
        "payload": "{}",
    },
    {
        "organisation_id": "ORG-HOLD",
        "import_id": "I-ORG-HELD",
        "row_number": 1,
        "processed_on": D("2022-01-10"),
        "payload": "{}",
    },
)

QUARANTINE: Sequence[Mapping[str, object]] = (
    {
        "load_id": "L-1",
        "file_name": "attendance_sessions.csv",
        "line_number": 7,
        "rule": "unknown_code",
        "organisation_id": "ORG-RUN",
        "raw_values": '{"organisation_id": "ORG-RUN", "pupil_id": "P-LEFT-0720", "mark": "?"}',
        "quarantined_at": dt.datetime(2023, 7, 4, 8, 0),
    },
)

ERASURE_SUPPRESSIONS: Sequence[Mapping[str, object]] = (
    {
        "subject_kind": "pupil",
        "organisation_id": "ORG-RUN",
        "subject_token": "token-pupil-1",
        "surrogate_id": "S-PUPIL-1",
        "rule_id": "left_pupils_2_academic_years",
        "actioned_on": D("2025-09-02"),
        "run_id": "RUN-1",
    },
    {
        "subject_kind": "pupil_contact",
        "organisation_id": "ORG-RUN",
        "subject_token": "token-c-1",
        "surrogate_id": "S-CONTACT-1",
        "rule_id": "contacts_6m_after_removal",
        "actioned_on": D("2025-06-01"),
        "run_id": "RUN-0",
    },
    # deleted by an erasure request for its pupil (tinytracker/rights/erasure.py's id)
    {
        "subject_kind": "pupil_contact",
        "organisation_id": "ORG-RUN",
        "subject_token": "token-c-2",
        "surrogate_id": "S-CONTACT-2",
        "rule_id": "erasure_request_contact",
        "actioned_on": D("2025-09-20"),
        "run_id": "RUN-2",
    },
)

TABLES: Mapping[str, Sequence[Mapping[str, object]]] = {
    "raw.organisations": ORGANISATIONS,
    "raw.pupils": PUPILS,
    "raw.pupil_contacts": PUPIL_CONTACTS,
    "raw.employees": EMPLOYEES,
    "raw.reports": REPORTS,
    "raw.attendance_sessions": ATTENDANCE_SESSIONS,
    "raw.assessments": ASSESSMENTS,
    "raw.sen_records": SEN_RECORDS,
    "raw.correspondence": CORRESPONDENCE,
    "raw.setup_imports": SETUP_IMPORTS,
    "raw.quarantine": QUARANTINE,
    "audit.erasure_suppressions": ERASURE_SUPPRESSIONS,
}

# Defaults that make every row valid against the landing contract, so staging tests pass.
ROW_DEFAULTS: Mapping[str, Mapping[str, object]] = {
    "raw.organisations": {
        "organisation_type": "school",
        "mis_permission": "granted",
        "share_with_trust": False,
    },
    "raw.pupils": {
        "forename": "Alex",
        "surname": "Example",
        "gender": "U",
        "ethnicity": "WBRI",
        "first_language": "ENG",
        "fsm_eligible": False,
        "sen_provision": "N",
        "year_group": "6",
        "admission_date": D("2016-09-01"),
        "date_of_birth": D("2012-01-15"),
    },
    "raw.pupil_contacts": {
        "forename": "Sam",
        "surname": "Example",
        "relationship": "Parent",
        "priority": 1,
    },
    "raw.employees": {
        "forename": "Jo",
        "surname": "Teacher",
        "gender": "F",
        "email": "jo@example.org",
        "role": "Class teacher",
        "teaching_status": "qualified_teacher",
        "teacher_number": "1234567",
        "start_date": D("2015-09-01"),
    },
    "raw.setup_imports": {"file_name": "pupils.csv", "received_on": D("2015-01-01")},
}

HOLDS: Sequence[Mapping[str, str | None]] = (
    {
        "organisation_id": "ORG-HOLD",
        "subject_kind": "organisation",
        "subject_id": None,
        "reason": "complaint",
    },
    {
        "organisation_id": "ORG-RUN",
        "subject_kind": "pupil",
        "subject_id": "P-HELD",
        "reason": "litigation",
    },
    {
        "organisation_id": "ORG-RUN",
        "subject_kind": "employee",
        "subject_id": "E-HELD",
        "reason": "litigation",
    },
)


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, object]]
) -> None:
    """Insert fixture rows by column name (columns not given stay null)."""
    defaults = ROW_DEFAULTS.get(table, {})
    for row in rows:
        values = {**defaults, **row}
        if table.startswith("raw.") and table != "raw.quarantine":
            values.setdefault("_load_id", "worked-examples")
            values.setdefault("_loaded_at", dt.datetime(2025, 9, 1))
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        con.execute(f"insert into {table} ({columns}) values ({marks})", list(values.values()))


def _csv_value(value: object) -> str:
    """A value as the landing contract writes it: ISO dates, true/false, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def extract_rows() -> dict[str, list[dict[str, object]]]:
    """The worked examples an MIS extract can carry, per landing file, defaults filled in.

    Pupils already anonymised are left out: only a retention run makes them, and the loader
    would never accept their surrogate ids as new pupils.
    """
    rows: dict[str, list[dict[str, object]]] = {}
    for landing in LANDING_FILES:
        table = f"raw.{landing.name}"
        defaults = ROW_DEFAULTS.get(table, {})
        kept = [
            {**defaults, **row} for row in TABLES.get(table, ()) if row.get("anonymised_on") is None
        ]
        for row in kept:
            unknown = set(row) - set(landing.column_names)
            if unknown:
                raise ValueError(f"{landing.name}: not landing-contract columns: {sorted(unknown)}")
        rows[landing.name] = kept
    return rows


def write_extract(folder: Path) -> Path:
    """Write the worked examples as an extract folder (``<entity>.csv``, contract columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {landing.name: landing for landing in LANDING_FILES}
    for name, rows in extract_rows().items():
        columns = files[name].column_names
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_csv_value(row.get(column)) for column in columns] for row in rows)
    return folder


def load_worked_examples(con: duckdb.DuckDBPyConnection, *, with_holds: bool = True) -> None:
    """Create the warehouse tables if needed and write every worked example (and the holds)."""
    schema.ensure_schema(con)
    for table, rows in TABLES.items():
        insert_rows(con, table, rows)
    record_birth_cohorts(con)  # as the loader does for every pupil it lands
    if with_holds:
        for hold in HOLDS:
            holds.add_hold(
                con,
                hold["organisation_id"],
                hold["reason"],
                subject_kind=hold["subject_kind"],
                subject_id=hold["subject_id"],
                placed_by="worked-examples",
            )


if __name__ == "__main__":
    connection = warehouse.connect()
    load_worked_examples(connection)
    connection.close()
    print(f"worked examples written to {paths.db_path()}")
