"""Loader validation of values: attendance codes in force on the session date, assessment
results, UPN check letters (every example of school-data.md, in Python and in SQL), typing and
trimming, and code lists read from the seed files.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest

from tinytracker.core.upn import is_valid_upn
from tinytracker.loading import load_extract, reference
from tinytracker.loading.reference import create_reference

from extract_builder import ExtractBuilder, db, extract, quarantine, query  # noqa: F401 - fixtures

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


VALID_UPNS = [
    "B801200005001",
    "H801200001001",
    "G80120000101A",
    "X00180001701A",
    "A950000178301",
    "P207000016049",
]


INVALID_UPNS = ["A801200005001", "Z801200001001", "R247962919251", "Q207000016049", "G80120000101S"]


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
