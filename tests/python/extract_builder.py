"""Small hand-made extracts for the loader tests.

Every landing file has one valid default row, so a test only states what it is about:
``builder.add("pupils", pupil_id="P2", upn="A801200005001")``; a pupil other than the default P1
added without a UPN gets a valid one of its own. Rows are written in the order
added, so the n-th row of a file is on line n + 1 (line 1 is the header). The fixtures at the
bottom give every test its own warehouse file and extract folder.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tinytracker.core.contract import FILES_BY_NAME
from tinytracker.core.upn import make_upn
from tinytracker.loading import LoadResult

DEFAULTS: dict[str, dict[str, str]] = {
    "organisations": {
        "organisation_id": "ORG1",
        "name": "Oak Primary",
        "organisation_type": "school",
        "trust_id": "T1",
        "contract_start": "2020-09-01",
        "contract_end": "",
        "anonymise_requested_on": "",
        "mis_permission": "granted",
        "share_with_trust": "false",
    },
    "pupils": {
        "organisation_id": "ORG1",
        "pupil_id": "P1",
        "upn": "B801200005001",
        "forename": "Ada",
        "surname": "Lovelace",
        "date_of_birth": "2015-05-01",
        "gender": "F",
        "address": "1 High Street",
        "postcode": "AB1 2CD",
        "email": "",
        "phone": "",
        "ethnicity": "WBRI",
        "first_language": "ENG",
        "fsm_eligible": "false",
        "sen_provision": "N",
        "year_group": "4",
        "admission_date": "2019-09-01",
        "leaving_date": "",
    },
    "pupil_contacts": {
        "organisation_id": "ORG1",
        "contact_id": "C1",
        "pupil_id": "P1",
        "forename": "Mary",
        "surname": "Lovelace",
        "relationship": "Mother",
        "email": "mary@example.org",
        "phone": "",
        "address": "1 High Street",
        "priority": "1",
    },
    "attendance_sessions": {
        "organisation_id": "ORG1",
        "pupil_id": "P1",
        "session_date": "2024-09-02",
        "session": "AM",
        "mark": "/",
    },
    "assessments": {
        "organisation_id": "ORG1",
        "pupil_id": "P1",
        "academic_year": "2024/25",
        "assessment": "MTC",
        "result": "20",
        "assessed_on": "2025-06-10",
    },
    "sen_records": {
        "organisation_id": "ORG1",
        "pupil_id": "P1",
        "provision": "K",
        "primary_need": "SPLD",
        "start_date": "2023-09-01",
        "end_date": "",
        "notes": "Reading support",
    },
    "employees": {
        "organisation_id": "ORG1",
        "employee_id": "E1",
        "forename": "Grace",
        "surname": "Hopper",
        "gender": "F",
        "email": "grace@example.org",
        "phone": "",
        "role": "Class teacher",
        "teaching_status": "qualified_teacher",
        "teacher_number": "1234567",
        "start_date": "2018-09-01",
        "leaving_date": "",
    },
    "reports": {
        "organisation_id": "ORG1",
        "report_id": "R1",
        "pupil_id": "P1",
        "author_employee_id": "E1",
        "title": "Autumn report",
        "issued_on": "2024-12-15",
    },
    "correspondence": {
        "organisation_id": "ORG1",
        "correspondence_id": "M1",
        "subject_kind": "pupil",
        "subject_id": "P1",
        "sent_on": "2024-10-01",
        "channel": "email",
        "summary": "Trip letter",
    },
    "setup_imports": {
        "organisation_id": "ORG1",
        "import_id": "I1",
        "file_name": "pupils.xlsx",
        "received_on": "2019-08-01",
        "processed_on": "2019-08-02",
        "row_number": "1",
        "payload": '{"name": "Ada"}',
    },
}
assert all(tuple(DEFAULTS[n]) == f.column_names for n, f in FILES_BY_NAME.items())


class ExtractBuilder:
    """Collects rows per landing file and writes them as CSV files into one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.extra_columns: dict[str, list[str]] = {}

    def add(self, file: str, **values: Any) -> int:
        """Add a row (defaults + values); return the line it will be written on."""
        row = dict(DEFAULTS[file])
        if file == "pupils" and "upn" not in values and values.get("pupil_id", "P1") != "P1":
            # another pupil: its own valid UPN (a UPN is unique within an organisation)
            row["upn"] = make_upn(f"8019999{len(self.rows.get(file, [])):05d}")
        for name, value in values.items():
            if name not in row and name not in self.extra_columns.setdefault(file, []):
                self.extra_columns[file].append(name)
            row[name] = "" if value is None else str(value)
        self.rows.setdefault(file, []).append(row)
        return len(self.rows[file]) + 1

    def school(
        self,
        org: str = "ORG1",
        pupils: int = 2,
        files: Iterable[str] | None = None,
        **org_values: Any,
    ) -> None:
        """An organisation with ``pupils`` valid pupils (P1..Pn) and one valid row (for P1) in
        each child file, or only in ``files``."""
        self.add("organisations", organisation_id=org, **org_values)
        for n in range(1, pupils + 1):
            self.add(
                "pupils", organisation_id=org, pupil_id=f"P{n}", upn=make_upn(f"8012000{n:02d}001")
            )
        children = [name for name in DEFAULTS if name not in ("organisations", "pupils")]
        for name in children if files is None else files:
            self.add(name, organisation_id=org)

    def csv_text(self, file: str) -> str:
        columns = list(DEFAULTS[file]) + self.extra_columns.get(file, [])
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in self.rows.get(file, []):
            writer.writerow([row.get(c, "") for c in columns])
        return out.getvalue()

    def write(self) -> Path:
        """Write every file that has rows (others are absent from the extract)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for file in self.rows:
            (self.folder / f"{file}.csv").write_text(self.csv_text(file), encoding="utf-8")
        return self.folder

    def write_raw(self, file_name: str, content: str | bytes) -> Path:
        """Write a file exactly as given (for broken files)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / file_name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def quarantine(db: Path) -> list[tuple[Any, ...]]:
    """Every quarantined row: file, line, rule, detail, organisation and the raw values."""
    return query(
        db,
        "select file_name, line_number, rule, detail, organisation_id, "
        "raw_values from raw.quarantine order by file_name, line_number",
    )


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every raw/audit table's rows, sorted, to compare a warehouse before and after."""
    if not db.exists():
        return {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw', 'audit') order by 1"
        ).fetchall()
        return {
            name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr)
            for (name,) in tables
        }


def raw_tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every landing table's rows (the load bookkeeping tables excluded)."""
    landing = {f"raw.{name}" for name in FILES_BY_NAME}
    return {name: rows for name, rows in snapshot(db).items() if name in landing}


def counts(result: LoadResult, file: str) -> tuple[int, ...]:
    """(read, inserted, updated, unchanged, quarantined, refused, suppressed) of one file."""
    f = result.file(file)
    return (f.read, f.inserted, f.updated, f.unchanged, f.quarantined, f.refused, f.suppressed)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A warehouse file of the test's own (TINYTRACKER_DB)."""
    path = tmp_path / "warehouse" / "tinytracker.duckdb"
    path.parent.mkdir()
    monkeypatch.setenv("TINYTRACKER_DB", str(path))
    monkeypatch.setenv("TINYTRACKER_LOCK_WAIT_SECONDS", "0")
    yield path


@pytest.fixture
def extract(tmp_path: Path) -> ExtractBuilder:
    """An empty extract folder to fill."""
    return ExtractBuilder(tmp_path / "extract")
