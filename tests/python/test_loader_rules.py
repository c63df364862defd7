"""Loader validation: every quarantine rule, with its line, while the good rows still load.

One extract holds a row breaking each rule (``RULE_CASES``), loaded once for the module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tinytracker.core.contract import QUARANTINE_RULES
from tinytracker.core.upn import make_upn
from tinytracker.loading import LoadResult, load_extract

from extract_builder import ExtractBuilder, db, extract, quarantine, query  # noqa: F401 - fixtures


def fresh_key(file: str, index: int) -> dict[str, str]:
    """Key values that no other row has, so each case's row is not a duplicate of another."""
    n = 100 + index
    return {
        "organisations": {"organisation_id": f"ORG{n}"},
        "pupils": {"pupil_id": f"Q{n}"},
        "pupil_contacts": {"contact_id": f"C{n}"},
        "attendance_sessions": {"pupil_id": f"P{index + 2}"},
        "assessments": {"pupil_id": f"P{index + 2}"},
        "sen_records": {"pupil_id": f"P{index + 2}"},
        "employees": {"employee_id": f"E{n}"},
        "reports": {"report_id": f"R{n}"},
        "correspondence": {"correspondence_id": f"M{n}"},
        "setup_imports": {"row_number": str(n)},
    }[file]


# (file, values of the bad row, rule, words the detail must contain)
RULE_CASES = [
    ("pupils", {"pupil_id": ""}, "missing_required", "pupil_id is empty"),
    ("attendance_sessions", {"mark": " "}, "missing_required", "mark is empty"),
    (
        "pupils",
        {"surname": "Smith\x1b[2J"},
        "control_character",
        "surname holds a control character",
    ),
    ("pupils", {"date_of_birth": "2015-02-30"}, "bad_date", "date_of_birth '2015-02-30'"),
    ("pupils", {"date_of_birth": "01/05/2015"}, "bad_date", "date_of_birth '01/05/2015'"),
    ("pupils", {"date_of_birth": "2015-5-1"}, "bad_date", "date_of_birth '2015-5-1'"),
    ("pupils", {"admission_date": "1899-12-31"}, "bad_date", "admission_date '1899-12-31'"),
    ("pupils", {"leaving_date": "2101-01-01"}, "bad_date", "leaving_date '2101-01-01'"),
    ("pupils", {"fsm_eligible": "yes"}, "bad_boolean", "fsm_eligible 'yes' is not true or false"),
    ("organisations", {"share_with_trust": "TRUE"}, "bad_boolean", "share_with_trust 'TRUE'"),
    ("pupil_contacts", {"priority": "0"}, "bad_integer", "priority '0' is not a positive integer"),
    ("pupil_contacts", {"priority": "first"}, "bad_integer", "priority 'first'"),
    ("setup_imports", {"row_number": "1.5"}, "bad_integer", "row_number '1.5' is not an integer"),
    ("pupils", {"gender": "X"}, "unknown_code", "gender 'X' is not a code of value set gender"),
    ("pupils", {"ethnicity": "WXYZ"}, "unknown_code", "ethnicity 'WXYZ'"),
    ("pupils", {"first_language": "XXX"}, "unknown_code", "first_language 'XXX'"),
    ("pupils", {"year_group": "14"}, "unknown_code", "year_group '14'"),
    ("pupils", {"sen_provision": "S"}, "unknown_code", "sen_provision 'S'"),
    ("sen_records", {"provision": "N"}, "unknown_code", "provision 'N'"),
    (
        "sen_records",
        {"primary_need": "XYZ", "start_date": "2024-01-01"},
        "unknown_code",
        "primary_need 'XYZ'",
    ),
    ("attendance_sessions", {"session": "EV"}, "unknown_code", "session 'EV'"),
    ("attendance_sessions", {"mark": "ZZ"}, "unknown_code", "mark 'ZZ'"),
    ("assessments", {"assessment": "KS9_READ"}, "unknown_code", "assessment 'KS9_READ'"),
    (
        "assessments",
        {"assessment": "EYFSPXE01", "result": "1"},
        "unknown_code",
        "assessment 'EYFSPXE01'",
    ),
    ("employees", {"teaching_status": "teacher"}, "unknown_code", "teaching_status 'teacher'"),
    ("correspondence", {"channel": "fax"}, "unknown_code", "channel 'fax'"),
    ("correspondence", {"subject_kind": "parent"}, "unknown_code", "subject_kind 'parent'"),
    (
        "organisations",
        {"organisation_type": "academy"},
        "unknown_code",
        "organisation_type 'academy'",
    ),
    (
        "pupils",
        {"upn": "A801200005001"},
        "bad_upn",
        "upn 'A801200005001' has check letter A, expected B",
    ),
    ("pupils", {"upn": "B80120000500"}, "bad_upn", "is not a UPN"),
    (
        "attendance_sessions",
        {"session_date": "2024-09-03", "mark": "H"},
        "mark_not_valid_on_date",
        "mark 'H' is not an attendance code in force on 2024-09-03",
    ),
    (
        "assessments",
        {"assessment": "KS2_READ", "result": "121"},
        "bad_assessment_result",
        "result '121' is not valid for KS2_READ (a score 80-120, a code A|B|T|M|Q|U)",
    ),
    ("assessments", {"assessment": "MTC", "result": "26"}, "bad_assessment_result", "result '26'"),
    (
        "assessments",
        {"assessment": "KS2_WRITING_TA", "result": "EXP"},
        "bad_assessment_result",
        "result 'EXP' is not valid for KS2_WRITING_TA (a code GDS|EXS|WTS|PK1",
    ),
    (
        "assessments",
        {"assessment": "GCSE_MATHS", "result": "10"},
        "bad_assessment_result",
        "result '10' is not valid for GCSE_MATHS",
    ),
    (
        "assessments",
        {"academic_year": "2024/26"},
        "bad_academic_year",
        "academic_year '2024/26' is not an academic year YYYY/YY",
    ),
    ("assessments", {"academic_year": "2024-25"}, "bad_academic_year", "'2024-25'"),
    (
        "pupils",
        {"admission_date": "2019-09-01", "leaving_date": "2019-07-20"},
        "dates_out_of_order",
        "leaving_date 2019-07-20 is before admission_date 2019-09-01",
    ),
    (
        "pupils",
        {"date_of_birth": "2020-01-01"},
        "dates_out_of_order",
        "admission_date 2019-09-01 is before date_of_birth 2020-01-01",
    ),
    (
        "organisations",
        {"contract_start": "2022-01-01", "contract_end": "2021-01-01"},
        "dates_out_of_order",
        "contract_end 2021-01-01 is before contract_start 2022-01-01",
    ),
    (
        "sen_records",
        {"start_date": "2024-01-01", "end_date": "2023-01-01"},
        "dates_out_of_order",
        "end_date 2023-01-01 is before start_date 2024-01-01",
    ),
    (
        "employees",
        {"start_date": "2024-01-01", "leaving_date": "2023-12-31"},
        "dates_out_of_order",
        "leaving_date",
    ),
    (
        "setup_imports",
        {"received_on": "2019-08-05"},
        "dates_out_of_order",
        "processed_on 2019-08-02 is before received_on 2019-08-05",
    ),
    (
        "pupils",
        {"organisation_id": "ORG9"},
        "unknown_organisation",
        "organisation_id 'ORG9' has no valid organisations row",
    ),
    ("employees", {"organisation_id": "ORG9"}, "unknown_organisation", "'ORG9'"),
    (
        "attendance_sessions",
        {"pupil_id": "P99"},
        "orphan_pupil",
        "pupil_id 'P99' is not a pupil of organisation 'ORG1'",
    ),
    ("pupil_contacts", {"pupil_id": "P99"}, "orphan_pupil", "'P99'"),
    ("reports", {"pupil_id": "P99"}, "orphan_pupil", "'P99'"),
    ("sen_records", {"pupil_id": "P99"}, "orphan_pupil", "'P99'"),
    ("assessments", {"pupil_id": "P99"}, "orphan_pupil", "'P99'"),
    (
        "reports",
        {"author_employee_id": "E99"},
        "orphan_employee",
        "author_employee_id 'E99' names no employee of organisation 'ORG1'",
    ),
    (
        "correspondence",
        {"subject_kind": "employee", "subject_id": "E99"},
        "orphan_subject",
        "subject_id 'E99' names no employee of organisation 'ORG1'",
    ),
    (
        "correspondence",
        {"subject_kind": "contact", "subject_id": "P1"},
        "orphan_subject",
        "subject_id 'P1' names no contact of organisation 'ORG1'",
    ),
    (
        "correspondence",
        {"subject_kind": "pupil", "subject_id": "C1"},
        "orphan_subject",
        "subject_id 'C1' names no pupil",
    ),
    (
        "attendance_sessions",
        {"session_date": "2019-08-30"},
        "session_outside_enrolment",
        "session_date 2019-08-30 is outside the pupil's enrolment (admission_date 2019-09-01, "
        "leaving_date none)",
    ),
    (
        "pupils",
        {"upn": make_upn("801200001001")},
        "duplicate_upn",
        f"upn '{make_upn('801200001001')}' is already the upn of pupil_id 'P1' on line 2",
    ),
]


@dataclass(frozen=True)
class RulesLoad:
    """One extract holding every case's bad row next to valid rows, loaded once."""

    db: Path
    result: LoadResult
    good_rows: dict[str, int]
    lines: list[int]
    quarantined: dict[tuple[str, int], tuple[str, str]]


@pytest.fixture(scope="module")
def rules_load(tmp_path_factory: pytest.TempPathFactory) -> RulesLoad:
    folder = tmp_path_factory.mktemp("rules")
    builder = ExtractBuilder(folder / "extract")
    builder.school(pupils=len(RULE_CASES) + 2)
    good_rows = {file: len(rows) for file, rows in builder.rows.items()}
    lines = [
        builder.add(file, **{**fresh_key(file, index), **values})
        for index, (file, values, _, _) in enumerate(RULE_CASES)
    ]
    db_path = folder / "warehouse.duckdb"
    result = load_extract(builder.write(), db_path)
    quarantined = {(r[0], r[1]): (r[2], r[3]) for r in quarantine(db_path)}
    return RulesLoad(db_path, result, good_rows, lines, quarantined)


@pytest.mark.parametrize(
    ("index", "file", "rule", "detail"),
    [(i, c[0], c[2], c[3]) for i, c in enumerate(RULE_CASES)],
    ids=[f"{c[2]}-{c[0]}-{i}" for i, c in enumerate(RULE_CASES)],
)
def test_a_row_breaking_a_rule_is_quarantined_with_its_line_and_the_good_rows_load(
    rules_load: RulesLoad, index: int, file: str, rule: str, detail: str
) -> None:
    line = rules_load.lines[index]
    got_rule, got_detail = rules_load.quarantined[(f"{file}.csv", line)]
    assert got_rule == rule
    assert detail in got_detail
    loaded = query(rules_load.db, f"select count(*) from raw.{file}")[0][0]
    assert loaded == rules_load.good_rows[file] == rules_load.result.file(file).inserted


def test_only_the_bad_rows_are_quarantined(rules_load: RulesLoad) -> None:
    assert len(rules_load.quarantined) == len(RULE_CASES)
    assert rules_load.result.total("quarantined") == len(RULE_CASES)


def test_every_quarantine_rule_has_a_test() -> None:
    tested = {case[2] for case in RULE_CASES} | {"duplicate_key", "malformed_row"}
    assert tested == set(QUARANTINE_RULES)


def test_every_copy_of_a_duplicate_key_is_quarantined(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=3, files=("attendance_sessions",))
    first = extract.add("attendance_sessions", pupil_id="P2", mark="/")
    extract.add("attendance_sessions", pupil_id="P3")
    second = extract.add("attendance_sessions", pupil_id=" P2 ", mark="L")
    load_extract(extract.write())

    rows = quarantine(db)
    assert [(r[1], r[2]) for r in rows] == [(first, "duplicate_key"), (second, "duplicate_key")]
    assert f"on lines {first}, {second}" in rows[0][3]
    assert query(db, "select pupil_id from raw.attendance_sessions order by 1") == [
        ("P1",),
        ("P3",),
    ]


def test_a_row_is_quarantined_under_its_first_rule_with_every_rule_in_the_detail(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(files=())
    extract.add("attendance_sessions", pupil_id="P77", session_date="2024-9-2", mark="ZZ")
    load_extract(extract.write())

    (row,) = quarantine(db)
    assert row[2] == "bad_date"
    assert row[3].split("; ") == [
        "bad_date: session_date '2024-9-2' is not a date YYYY-MM-DD between 1900-01-01 and "
        "2100-12-31",
        "unknown_code: mark 'ZZ' is not a code of value set attendance_code",
        "orphan_pupil: pupil_id 'P77' is not a pupil of organisation 'ORG1'",
    ]
