"""Erasure suppression at load time: a reload or a newer extract never brings back an erased
subject (matched by keyed token, also by what a newer extract says about them), and the
secret is needed only once something is suppressed.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import schema, secret, warehouse
from tinytracker.core.contract import LANDING_FILES
from tinytracker.loading import load_extract
from tinytracker.loading.policy import SUPPRESSION_SUBJECTS, check_subject_columns

from extract_builder import ExtractBuilder, counts, db, extract, query, snapshot  # noqa: F401 - fixtures

SECRET = "0123456789abcdef-test-secret"


def suppress(db_path: Path, kind: str, org: str, subject_id: str) -> None:
    with duckdb.connect(str(db_path)) as con:
        schema.ensure_schema(con)
        secret.bind_secret(con)
        token = secret.subject_token_sql("?", "?", "?")
        con.execute(
            "insert into audit.erasure_suppressions (subject_kind, organisation_id, "
            "subject_token, surrogate_id, rule_id, actioned_on, run_id) "
            f"select ?, ?, {token}, 'S1', 'left_pupils_2_academic_years', "
            "date '2025-09-01', 'run-1'",
            [kind, org, kind, org, subject_id],
        )


def test_a_reload_does_not_resurrect_erased_subjects(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    extract.school(pupils=2)
    extract.add("pupil_contacts", contact_id="C2", pupil_id="P2")
    extract.add("pupil_contacts", contact_id="C3", pupil_id="P2")
    extract.add("attendance_sessions", pupil_id="P2", session_date="2024-13-01")  # bad too
    folder = extract.write()
    suppress(db, "pupil", "ORG1", "P1")
    suppress(db, "pupil_contact", "ORG1", "C3")
    suppress(db, "employee", "ORG1", "E1")
    suppress(db, "correspondence", "ORG1", "M1")
    suppress(db, "setup_import", "ORG1", "I1")
    suppress(db, "pupil", "ORG2", "P2")  # another organisation's P2: not ours

    result = load_extract(folder)

    assert query(db, "select pupil_id from raw.pupils") == [("P2",)]
    assert query(db, "select contact_id from raw.pupil_contacts") == [("C2",)]
    for table in (
        "attendance_sessions",
        "assessments",
        "sen_records",
        "reports",
        "employees",
        "correspondence",
        "setup_imports",
    ):
        assert query(db, f"select count(*) from raw.{table}") == [(0,)], table
    assert counts(result, "pupils") == (2, 1, 0, 0, 0, 0, 1)
    assert counts(result, "pupil_contacts") == (3, 1, 0, 0, 0, 0, 2)
    assert counts(result, "attendance_sessions") == (2, 0, 0, 0, 1, 0, 1)
    assert [r[0] for r in query(db, "select raw_values->>'pupil_id' from raw.quarantine")] == ["P2"]


def test_suppression_needs_no_secret_while_nothing_is_suppressed(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    extract.school()
    result = load_extract(extract.write())
    assert result.total("suppressed") == 0


def test_a_load_with_suppressions_and_no_secret_fails_and_changes_nothing(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    suppress(db, "pupil", "ORG1", "P1")
    monkeypatch.delenv(secret.SECRET_ENV)
    extract.school()
    before = snapshot(db)
    with pytest.raises(warehouse.TinyTrackerError, match=secret.SECRET_ENV):
        load_extract(extract.write())
    assert snapshot(db) == before


def test_every_suppressed_subject_column_is_a_contract_column() -> None:
    check_subject_columns()
    assert set(SUPPRESSION_SUBJECTS) == {f.name for f in LANDING_FILES}


def suppress_identifier(
    db_path: Path, kind: str, org: str, subject_id: str, identifier: str
) -> None:
    """A keyed token of one more identifier of an erased subject (audit.erasure_identifiers)."""
    with duckdb.connect(str(db_path)) as con:
        secret.bind_secret(con)
        token = secret.subject_token_sql("?", "?", "?")
        con.execute(
            f"insert into audit.erasure_identifiers select ?, ?, {token}, "
            f"split_part(?, '=', 1), {token}, 'run-1'",
            [kind, org, kind, org, subject_id, identifier, kind, org, identifier],
        )


def test_a_newer_extract_is_suppressed_by_what_it_says_about_an_erased_subject(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, SECRET)
    suppress(db, "pupil", "ORG1", "P1")
    suppress(db, "pupil_contact", "ORG1", "C1")
    suppress(db, "employee", "ORG1", "E1")
    suppress_identifier(db, "pupil", "ORG1", "P1", "upn=B801200005001")
    suppress_identifier(db, "pupil", "ORG1", "P1", "name_dob=ada|lovelace|2015-05-01")
    suppress_identifier(db, "employee", "ORG1", "E1", "trn=1234567")
    extract.school(pupils=2, files=())
    for n, (kind, subject) in enumerate(
        [("pupil", "P1"), ("contact", "C1"), ("employee", "E1"), ("pupil", "P2")], start=10
    ):
        extract.add(
            "correspondence", correspondence_id=f"M{n}", subject_kind=kind, subject_id=subject
        )
    payloads = [
        {"UPN": " b801200005001"},
        {"Forename": "ADA", "Surname": "Lovelace", "DOB": "01/05/2015"},
        {"TRN": "12 34567"},
        {"upn": "A801200002001", "forename": "Bo"},
    ]  # another pupil: loads
    for n, payload in enumerate(payloads, start=1):
        extract.add("setup_imports", import_id="I2", row_number=n, payload=json.dumps(payload))
    extract.write()
    # a line the CSV reader cannot split, about the erased pupil: dropped, not quarantined
    text = extract.csv_text("correspondence") + "ORG1,M20,pupil,P1,2024-10-01,email,a,b,c\n"
    extract.write_raw("correspondence.csv", text)

    result = load_extract(extract.folder)

    assert query(db, "select correspondence_id from raw.correspondence") == [("M13",)]
    assert query(db, "select row_number from raw.setup_imports") == [(4,)]
    assert result.file("correspondence").suppressed == 4
    assert result.file("setup_imports").suppressed == 3
    assert query(db, "select count(*) from raw.quarantine") == [(0,)]
