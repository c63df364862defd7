"""Loader validation: every quarantine rule, with its line, while the good rows still load."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli import main as cli
from tinytracker.core import schema, secret
from tinytracker.core.contract import QUARANTINE_RULES
from tinytracker.core.upn import is_valid_upn, make_upn
from tinytracker.loading import LoadResult, lines, load_extract, reference
from tinytracker.loading.reference import create_reference

from extract_builder import ExtractBuilder, db, extract, query  # noqa: F401 - fixtures

VALID_UPNS = [
    "B801200005001",
    "H801200001001",
    "G80120000101A",
    "X00180001701A",
    "A950000178301",
    "P207000016049",
]
INVALID_UPNS = ["A801200005001", "Z801200001001", "R247962919251", "Q207000016049", "G80120000101S"]


def quarantine(db_path: Path) -> list[tuple]:
    return query(
        db_path,
        "select file_name, line_number, rule, detail, organisation_id, "
        "raw_values from raw.quarantine order by file_name, line_number",
    )


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


def test_a_truncated_last_line_is_quarantined_as_malformed_with_its_line(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(files=("attendance_sessions",))
    text = extract.csv_text("attendance_sessions") + "ORG1,P2,2024-09-0"
    extract.write()
    extract.write_raw("attendance_sessions.csv", text)
    result = load_extract(extract.folder)

    rows = quarantine(db)
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        ("attendance_sessions.csv", 3, "malformed_row", "ORG1")
    ]
    assert rows[0][3] == (
        "malformed_row: line 3 has 3 fields, the header has 5 (the line is "
        "cut short, e.g. truncated, or has fields missing)"
    )
    raw = json.loads(rows[0][5])
    assert raw["_raw_line"] == "ORG1,P2,2024-09-0"
    assert raw["pupil_id"] == "P2"  # named, so retention can find it by its subject
    assert result.file("attendance_sessions").read == 2
    assert result.file("attendance_sessions").inserted == 1


NEXT_LINE = "ORG1,P2,2024-09-03,AM,/\n"


@pytest.mark.parametrize(
    ("bad_line", "detail"),
    [
        (
            "ORG1,P2,2024-09-02,AM,/,extra,more\n" + NEXT_LINE,
            "line 3 has 7 fields, the header has 5 (a comma in a value that is not quoted",
        ),
        (
            'ORG1,"P2"x,2024-09-02,AM,/\n' + NEXT_LINE,
            "line 3 has a quoted value that is not closed, or text after a closing quote",
        ),
        ("ORG1\n" + NEXT_LINE, "line 3 has 1 field, the header has 5 (the line is cut short"),
        (
            'ORG1,P2,2024-09-02,AM,"/\n',  # the open quote would swallow any line after it
            "line 3 has a quoted value that is not closed, or text after a closing quote",
        ),
    ],
)
def test_a_malformed_line_gets_one_detail_saying_what_is_wrong(
    db: Path, extract: ExtractBuilder, bad_line: str, detail: str
) -> None:
    extract.school(files=("attendance_sessions",))
    extract.write()
    text = extract.csv_text("attendance_sessions") + bad_line
    extract.write_raw("attendance_sessions.csv", text)
    result = load_extract(extract.folder)

    ((line, rule, stored),) = query(db, "select line_number, rule, detail from raw.quarantine")
    assert (line, rule) == (3, "malformed_row")
    assert stored.startswith("malformed_row: " + detail)
    assert stored.count("malformed_row") == 1 and "Expected Number" not in stored
    loaded = 1 + bad_line.endswith(NEXT_LINE)  # the lines around it load
    assert result.file("attendance_sessions").inserted == loaded


def test_the_cli_names_file_line_and_rule_of_the_first_quarantined_rows(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school(pupils=49, files=("attendance_sessions",))
    bad = [extract.add("attendance_sessions", pupil_id=f"P{n}", mark="ZZ") for n in range(2, 9)]
    extract.write()
    pupils = extract.csv_text("pupils") + "ORG1,P50,B801200005001,Ann,Smith"  # truncated
    extract.write_raw("pupils.csv", pupils)
    assert cli.main(["load", str(extract.folder)]) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    report = lines[next(i for i, line in enumerate(lines) if "quarantined (" in line) :]
    assert report[0] == "8 row(s) quarantined (not loaded):"
    assert report[1] == (
        "  pupils.csv:51  malformed_row (line 51 has 5 fields, the header has "
        "18 (the line is cut short, e.g. truncated, or has fields missing))"
    )
    assert report[2:7] == [f"  attendance_sessions.csv:{line}  unknown_code" for line in bad[:5]]
    assert report[7] == "  attendance_sessions.csv: 2 more"
    assert "Ann" not in out and "Smith" not in out  # values stay in raw.quarantine
    assert "select * from raw.quarantine where load_id = '" in report[-1]


@pytest.mark.parametrize(
    "case_limit", [lines.MAX_CASE_THRESHOLDS, 0], ids=["case-expressions", "asof-joins"]
)
def test_lines_count_blank_lines_quoted_newlines_and_malformed_lines(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch, case_limit: int
) -> None:
    monkeypatch.setattr(lines, "MAX_CASE_THRESHOLDS", case_limit)
    extract.school(pupils=4, files=())
    extract.write()
    extract.write_raw(
        "pupil_contacts.csv",
        (
            "organisation_id,contact_id,pupil_id,forename,surname,relationship,email,phone,"
            "address,priority\n"
            'ORG1,C1,P1,Mary,Lovelace,Mother,,,"1 High Street\nSometown",1\n'  # lines 2-3
            "\n"  # line 4, blank
            "ORG1,C2,P2,Tom,Lovelace\n"  # line 5, short
            'ORG1,C3,P3,Ann,"Smith\nJones",Aunt,,,,0\n'  # lines 6-7
            "\n"  # line 8, blank
            "ORG1,C4,P99,Bob,Brown,Uncle,,,,2\n"  # line 9
            "ORG1,C5,P4,Sue,Brown,Carer,,,,3\n"  # line 10
        ),
    )
    result = load_extract(extract.folder)

    assert [(r[1], r[2]) for r in quarantine(db)] == [
        (5, "malformed_row"),
        (6, "bad_integer"),
        (9, "orphan_pupil"),
    ]
    assert query(db, "select contact_id, address from raw.pupil_contacts order by 1") == [
        ("C1", "1 High Street\nSometown"),
        ("C5", None),
    ]
    assert result.file("pupil_contacts").read == 5


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


def test_quarantine_keeps_the_raw_values_as_given(db: Path, extract: ExtractBuilder) -> None:
    extract.school(files=())
    extract.add("pupils", pupil_id=" P5 ", forename="  Zed ", gender="Q", house="Blue")
    load_extract(extract.write())

    (row,) = quarantine(db)
    raw = json.loads(row[5])
    assert raw["pupil_id"] == " P5 "
    assert raw["forename"] == "  Zed "
    assert raw["house"] == "Blue"
    assert raw["email"] is None
    assert row[4] == "ORG1"


MARK_CASES = [
    ("H", "2024-08-16", True),
    ("H", "2024-08-18", True),
    ("H", "2024-08-19", False),
    ("H", "2024-09-02", False),
    ("K", "2024-08-16", False),
    ("K", "2024-08-19", True),
    ("J1", "2024-09-02", True),
    ("J", "2024-09-02", False),
    ("Y", "2023-10-02", True),
    ("Y1", "2023-10-02", False),
    ("/", "2019-10-02", True),
]


def test_an_attendance_mark_must_be_in_force_on_its_session_date(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.add("organisations")
    lines = {}
    for n, (mark, day, loads) in enumerate(MARK_CASES):
        extract.add("pupils", pupil_id=f"P{n}")
        line = extract.add("attendance_sessions", pupil_id=f"P{n}", session_date=day, mark=mark)
        lines[line] = (mark, day, loads)
    load_extract(extract.write())

    quarantined = {r[1]: r[2] for r in quarantine(db)}
    for line, (mark, day, loads) in lines.items():
        assert quarantined.get(line) == (None if loads else "mark_not_valid_on_date"), (mark, day)
    loaded = query(db, "select mark, cast(session_date as varchar) from raw.attendance_sessions")
    assert sorted(loaded) == sorted((m, d) for m, d, loads in MARK_CASES if loads)


VALID_RESULTS = [
    ("EYFSP_E01", "1"),
    ("EYFSP_E17", "2"),
    ("PHONICS", "0"),
    ("PHONICS", "40"),
    ("MTC", "25"),
    ("KS2_READ", "80"),
    ("KS2_MATHS", "120"),
    ("KS2_GPS", "A"),
    ("KS2_READ", "U"),
    ("KS2_WRITING_TA", "GDS"),
    ("KS2_WRITING_TA", "PK6"),
    ("GCSE_MATHS", "9"),
    ("GCSE_ENGLISH_LANGUAGE", "U"),
]


def test_valid_assessment_results_load(db: Path, extract: ExtractBuilder) -> None:
    extract.add("organisations")
    extract.add("pupils")
    for year, (assessment, result) in enumerate(VALID_RESULTS, start=2000):
        extract.add(
            "assessments",
            assessment=assessment,
            result=result,
            academic_year=f"{year}/{(year + 1) % 100:02d}",
        )
    loaded = load_extract(extract.write())
    assert quarantine(db) == []
    assert loaded.file("assessments").inserted == len(VALID_RESULTS)


def test_the_upn_check_follows_every_example_of_school_data_md() -> None:
    con = duckdb.connect()
    create_reference(con)
    for upn in VALID_UPNS + INVALID_UPNS:
        assert con.execute("select tt_is_valid_upn(?)", [upn]).fetchone()[0] == (
            upn in VALID_UPNS
        ), upn


def test_the_sql_upn_check_agrees_with_the_python_one() -> None:
    rng = random.Random(7)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    samples = []
    for _ in range(3000):
        body = "".join(rng.choice("0123456789") for _ in range(11))
        body += rng.choice("0123456789" + letters)
        samples.append(rng.choice(letters) + body)
    con = duckdb.connect()
    create_reference(con)
    got = dict(
        con.execute(
            "select u, tt_is_valid_upn(u) from unnest(?::varchar[]) as t(u)", [samples]
        ).fetchall()
    )
    assert got == {u: is_valid_upn(u) for u in samples}
    assert any(got.values()) and not all(got.values())


def test_pupils_with_every_valid_example_upn_load_and_the_invalid_ones_do_not(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.add("organisations")
    for n, upn in enumerate(VALID_UPNS + INVALID_UPNS):
        extract.add("pupils", pupil_id=f"P{n}", upn=upn)
    load_extract(extract.write())
    assert {r[0] for r in query(db, "select upn from raw.pupils")} == set(VALID_UPNS)
    assert sorted(json.loads(r[5])["upn"] for r in quarantine(db)) == sorted(INVALID_UPNS)


def test_values_are_typed_trimmed_and_extra_columns_kept(db: Path, extract: ExtractBuilder) -> None:
    extract.add(
        "organisations",
        name="  Oak Primary  ",
        share_with_trust="true",
        contract_start="2020-09-01",
    )
    extract.add(
        "pupils", forename=" Ada ", email="", fsm_eligible="true", house="Blue", tutor=" Mr X "
    )
    load_extract(extract.write())

    assert query(
        db, "select name, share_with_trust, contract_start, _extra from raw.organisations"
    ) == [("Oak Primary", True, dt.date(2020, 9, 1), None)]
    forename, email, fsm, extra = query(
        db, "select forename, email, fsm_eligible, _extra from raw.pupils"
    )[0]
    assert (forename, email, fsm) == ("Ada", None, True)
    assert json.loads(extra) == {"house": "Blue", "tutor": " Mr X "}


def test_a_pupil_already_in_the_warehouse_is_not_an_orphan(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.add("organisations")
    extract.add("pupils")
    load_extract(extract.write())

    later = ExtractBuilder(tmp_path / "later")
    later.add("attendance_sessions")
    later.add("attendance_sessions", pupil_id="P2")
    result = load_extract(later.write())

    assert result.file("attendance_sessions").inserted == 1
    assert [(r[1], r[2]) for r in quarantine(db)] == [(3, "orphan_pupil")]


def test_children_of_a_quarantined_pupil_are_orphans(db: Path, extract: ExtractBuilder) -> None:
    extract.add("organisations")
    extract.add("pupils", gender="X")
    extract.add("attendance_sessions")
    load_extract(extract.write())
    assert [(r[0], r[2]) for r in quarantine(db)] == [
        ("attendance_sessions.csv", "orphan_pupil"),
        ("pupils.csv", "unknown_code"),
    ]


def test_attendance_must_fall_within_the_pupils_admission_and_leaving_dates(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.add("organisations")
    extract.add("pupils", admission_date="2024-09-04", leaving_date="2024-09-10")
    lines = {
        extract.add("attendance_sessions", session_date=day): loads
        for day, loads in [
            ("2024-09-03", False),
            ("2024-09-04", True),
            ("2024-09-10", True),
            ("2024-09-11", False),
        ]
    }
    result = load_extract(extract.write())

    quarantined = {r[1]: (r[2], r[3]) for r in quarantine(db)}
    assert {line for line, loads in lines.items() if not loads} == set(quarantined)
    assert quarantined[max(lines)] == (
        "session_outside_enrolment",
        "session_outside_enrolment: session_date 2024-09-11 is outside the pupil's enrolment "
        "(admission_date 2024-09-04, leaving_date 2024-09-10)",
    )
    assert result.file("attendance_sessions").inserted == 2


def test_a_later_pupil_with_a_upn_another_pupil_has_is_quarantined(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.add("organisations")
    extract.add("organisations", organisation_id="ORG2")
    extract.add("pupils", pupil_id="P1", upn="B801200005001")
    extract.add("pupils", organisation_id="ORG2", pupil_id="P7", upn="B801200005001")  # other org
    load_extract(extract.write())

    later = ExtractBuilder(tmp_path / "later")
    first = later.add("pupils", pupil_id="P2", upn="H801200001001")
    second = later.add("pupils", pupil_id="P3", upn="H801200001001")
    stolen = later.add("pupils", pupil_id="P4", upn="B801200005001")
    result = load_extract(later.write())

    assert [(r[1], r[2], r[3]) for r in quarantine(db)] == [
        (
            second,
            "duplicate_upn",
            f"duplicate_upn: upn 'H801200001001' is already the upn of "
            f"pupil_id 'P2' on line {first}",
        ),
        (
            stolen,
            "duplicate_upn",
            "duplicate_upn: upn 'B801200005001' is already the upn of "
            "pupil_id 'P1' in the warehouse",
        ),
    ]
    assert result.file("pupils").inserted == 1
    assert load_extract(extract.folder).total("quarantined") == 0  # the holders again: fine


def test_a_upn_moved_from_one_pupil_to_another_is_not_a_duplicate(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.add("organisations")
    extract.add("pupils", pupil_id="P1", upn="B801200005001")
    load_extract(extract.write())

    corrected = ExtractBuilder(tmp_path / "corrected")
    corrected.add("pupils", pupil_id="P1", upn="H801200001001")  # P1's UPN was wrong
    corrected.add("pupils", pupil_id="P2", upn="B801200005001")  # it was P2's
    load_extract(corrected.write())

    assert quarantine(db) == []
    assert query(db, "select pupil_id, upn from raw.pupils order by 1") == [
        ("P1", "H801200001001"),
        ("P2", "B801200005001"),
    ]


def test_a_report_author_and_a_correspondence_subject_from_an_earlier_extract_are_known(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=1, files=("employees", "pupil_contacts"))
    load_extract(extract.write())

    later = ExtractBuilder(tmp_path / "later")
    later.add("reports", author_employee_id="E1")
    later.add("reports", report_id="R2", author_employee_id=None)  # no author: nothing to check
    for kind, subject in (("pupil", "P1"), ("contact", "C1"), ("employee", "E1")):
        later.add(
            "correspondence", correspondence_id=f"M{kind}", subject_kind=kind, subject_id=subject
        )
    result = load_extract(later.write())

    assert quarantine(db) == []
    assert (result.file("reports").inserted, result.file("correspondence").inserted) == (2, 3)


def test_an_erased_author_or_subject_is_not_an_orphan(
    db: Path, extract: ExtractBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, "0123456789abcdef-rules-secret")
    extract.school(pupils=1, files=())
    with duckdb.connect(str(db)) as con:  # E7 and C7 were erased by a retention run
        schema.ensure_schema(con)
        secret.bind_secret(con)
        token = secret.subject_token_sql("?", "'ORG1'", "?")
        for kind, subject_id in (("employee", "E7"), ("pupil_contact", "C7")):
            con.execute(
                "insert into audit.erasure_suppressions (subject_kind, organisation_id, "
                f"subject_token, surrogate_id, rule_id, actioned_on, run_id) select ?, 'ORG1', "
                f"{token}, 'S-' || ?, 'employees_1m_after_leaving', date '2025-09-01', 'run-1'",
                [kind, kind, subject_id, subject_id],
            )
    extract.add("reports", author_employee_id="E7")
    extract.add("reports", report_id="R2", author_employee_id="E8")
    extract.add("correspondence", subject_kind="contact", subject_id="C7")
    extract.add("correspondence", correspondence_id="M2", subject_kind="employee", subject_id="E7")
    extract.add("correspondence", correspondence_id="M3", subject_kind="pupil", subject_id="E7")
    load_extract(extract.write())

    assert [(r[0], r[2]) for r in quarantine(db)] == [
        ("correspondence.csv", "orphan_subject"),
        ("reports.csv", "orphan_employee"),
    ]
    assert [
        json.loads(r[5])["subject_id" if r[0] == "correspondence.csv" else "author_employee_id"]
        for r in quarantine(db)
    ] == ["E7", "E8"]


@pytest.fixture
def seed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of seeds/reference that the loader reads instead of the real one."""
    copy = tmp_path / "reference"
    shutil.copytree(reference.REFERENCE_DIR, copy)
    monkeypatch.setattr(reference, "REFERENCE_DIR", copy)
    return copy


def _append(seed: Path, line: str) -> None:
    with seed.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def test_the_loader_reads_its_code_lists_from_the_seed_files(
    db: Path, extract: ExtractBuilder, tmp_path: Path, seed_copy: Path
) -> None:
    extract.add("organisations")
    extract.add("pupils", gender="X", ethnicity="WXYZ")
    extract.add("attendance_sessions", session_date="2024-09-02", mark="Q9")
    folder = extract.write()
    before = load_extract(folder, tmp_path / "before.duckdb")
    assert [(r[0], r[2]) for r in quarantine(tmp_path / "before.duckdb")] == [
        ("attendance_sessions.csv", "unknown_code"),
        ("pupils.csv", "unknown_code"),
    ]
    assert before.file("pupils").inserted == 0

    _append(seed_copy / "value_sets.csv", "gender,X,Another gender (test code)")
    _append(seed_copy / "ethnicity_codes.csv", "WXYZ,WOTH,White,false,Test code")
    _append(
        seed_copy / "attendance_codes.csv",
        "Q9,2024-08-19,,authorised,true,Test code from the 2024 set",
    )
    after = load_extract(folder, db)

    assert quarantine(db) == []
    assert query(db, "select gender, ethnicity from raw.pupils") == [("X", "WXYZ")]
    assert after.file("attendance_sessions").inserted == 1


def test_an_attendance_code_is_in_force_as_its_seed_row_says(
    db: Path, extract: ExtractBuilder, seed_copy: Path
) -> None:
    _append(seed_copy / "attendance_codes.csv", "Q9,2024-09-03,2024-09-04,authorised,true,Test")
    extract.add("organisations")
    extract.add("pupils")
    lines = {
        extract.add("attendance_sessions", session_date=day, mark="Q9"): day
        for day in ("2024-09-02", "2024-09-03", "2024-09-04", "2024-09-05")
    }
    load_extract(extract.write())
    quarantined = {lines[r[1]] for r in quarantine(db) if r[2] == "mark_not_valid_on_date"}
    assert quarantined == {"2024-09-02", "2024-09-05"}


def test_load_log_records_when_the_load_ran_and_its_rows_carry_the_same_time(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(pupils=2)
    extract.add("attendance_sessions", pupil_id="P9")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    result = load_extract(extract.write())
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    ((loaded_at,),) = query(
        db, "select distinct loaded_at from raw.load_log where load_id = ?", [result.load_id]
    )
    assert before <= loaded_at <= after  # UTC, not local time
    assert result.load_id.startswith(f"{loaded_at:%Y%m%dT%H%M%SZ}-")
    assert query(db, "select distinct _loaded_at from raw.pupils") == [(loaded_at,)]
    assert query(db, "select distinct quarantined_at from raw.quarantine") == [(loaded_at,)]
    assert query(db, "select count(*) from raw.load_log") == [(len(result.files),)]
