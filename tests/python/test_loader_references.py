"""Loader validation across rows and extracts: orphans (a pupil already in the warehouse is
known, a quarantined one is not, an erased author or subject is not an orphan), attendance
within enrolment, and a UPN held by one pupil at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import schema, secret
from tinytracker.loading import load_extract

from extract_builder import ExtractBuilder, db, extract, quarantine, query  # noqa: F401 - fixtures


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
