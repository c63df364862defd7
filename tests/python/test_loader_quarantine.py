"""What the quarantine says about a refused line: its line number (blank lines, quoted newlines
and malformed lines counted as a text editor counts them), one detail saying what is wrong,
the raw values as given, and the CLI's summary; and when the load ran.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tinytracker.cli import main as cli
from tinytracker.loading import lines, load_extract

from extract_builder import ExtractBuilder, db, extract, quarantine, query  # noqa: F401 - fixtures


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
