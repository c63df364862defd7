"""The suppression list and its ledger: a list written by an older version, which kept every
anonymised subject's surrogate beside its token, is unlinked on the next open; the identifier
rules a payload is matched by."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import schema
from tinytracker.core.contract import FILES_BY_NAME
from tinytracker.erasure import identifiers
from tinytracker.erasure.transaction import ensure_tables

from extract_builder import db  # noqa: F401 - fixtures

SECRET = "0123456789abcdef-test-secret"
OLD_DDL = """create table audit.erasure_suppressions (
    subject_kind varchar not null, organisation_id varchar not null,
    subject_token varchar not null, surrogate_id varchar not null, rule_id varchar not null,
    actioned_on date not null, run_id varchar not null)"""


def test_an_older_list_and_ledger_keep_no_surrogate_of_an_anonymous_record(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "backups"
    monkeypatch.setenv("TINYTRACKER_BACKUP_DIR", str(backups))
    run_id = str(uuid.uuid4())
    rows = [  # (kind, token, surrogate): what the older version wrote
        ("pupil", "t-pupil", "S-ANON"),
        ("employee", "t-author", "S-AUTHOR"),
        ("employee", "t-noname", "S-NONAME"),
        ("pupil_contact", "t-contact", "S-CONTACT"),
    ]
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute("create schema audit")
    for name in ("pupils", "employees"):
        con.execute(schema.raw_table_ddl(FILES_BY_NAME[name]))
    con.execute(
        "insert into raw.pupils (organisation_id, pupil_id, anonymised_on) "
        "values ('ORG1', 'S-ANON', date '2025-09-01')"
    )
    con.execute(
        "insert into raw.employees (organisation_id, employee_id, forename, surname, "
        "anonymised_on) values ('ORG1', 'S-AUTHOR', 'Jemma', 'Parkinson', "
        "date '2025-09-01'), ('ORG1', 'S-NONAME', null, null, date '2025-09-01')"
    )
    con.execute(OLD_DDL)
    con.executemany(
        "insert into audit.erasure_suppressions values (?, 'ORG1', ?, ?, "
        "'erasure_request', date '2025-09-01', ?)",
        [(k, t, s, run_id) for k, t, s in rows],
    )
    ledger = backups / "erasure-ledger"
    ledger.mkdir(parents=True)
    ledger_file = ledger / f"{run_id}.erasure_suppressions.parquet"
    con.execute(f"copy audit.erasure_suppressions to '{ledger_file}' (format parquet)")

    ensure_tables(con)  # the next load, retention run, erasure request or restore

    expected = [
        ("employee", "t-author", "S-AUTHOR"),
        ("employee", "t-noname", None),
        ("pupil", "t-pupil", None),
        ("pupil_contact", "t-contact", "S-CONTACT"),
    ]
    assert (
        con.execute(
            "select subject_kind, subject_token, surrogate_id from "
            "audit.erasure_suppressions order by 1, 2"
        ).fetchall()
        == expected
    )
    assert (
        con.execute(
            "select subject_kind, subject_token, surrogate_id from read_parquet(?) order by 1, 2",
            [str(ledger_file)],
        ).fetchall()
        == expected
    )
    con.close()


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ({"UPN": " b801200005001 "}, True),
        ({"Unique Pupil Number": "B801200005001"}, True),
        ({"school_ref": "B801200005001"}, True),  # a member whose whole value is the UPN
        ({"notes": "brother of B801200005001"}, False),  # free text naming someone
        ({"Legal Forename": "ada", "SURNAME": "LOVELACE", "DOB": "01/05/2015"}, True),
        ({"FirstName": "Ada", "LastName": "Lovelace", "DateOfBirth": "1/5/2015"}, True),
        ({"forename": "Ada", "surname": "Lovelace", "date_of_birth": "2015-05-01"}, True),
        ({"Forename": "Ada", "Surname": "Lovelace"}, False),  # a name alone: not enough
        ({"Forename": "Ada", "Surname": "Lovelace", "DOB": "05/01/2015"}, False),  # 5 January
        ({"PupilId": "P1"}, True),
        ({"PupilId": "P2"}, False),
    ],
)
def test_a_payload_names_a_pupil_by_any_common_spelling_of_their_identifiers(
    payload: dict, names: bool
) -> None:
    con = duckdb.connect()
    con.execute(
        "create table person as select 'B801200005001' as upn, 'P1' as pupil_id, "
        "'Ada' as forename, 'Lovelace' as surname, date '2015-05-01' as date_of_birth"
    )
    found = con.execute(
        f"select {identifiers.payload_names('pupil', '$p', 'person')} from person",
        {"p": json.dumps(payload)},
    ).fetchone()[0]
    assert found is names


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ({"First Name": "Jemma", "Last Name": "Parkinson", "Role": "Teacher"}, True),
        ({"TRN": "12 34567"}, True),
        ({"Email Address": "J.PARKINSON@example.org"}, True),
        ({"Staff Id": "E2"}, True),
        # a pupil row of a pupil who shares the teacher's name is about the pupil
        ({"Forename": "Jemma", "Surname": "Parkinson", "DOB": "01/05/2015"}, False),
        ({"First Name": "Jemma", "Last Name": "Parkin"}, False),
    ],
)
def test_a_payload_names_an_employee_by_id_teacher_number_email_or_name(
    payload: dict, names: bool
) -> None:
    con = duckdb.connect()
    con.execute(
        "create table person as select 'E2' as employee_id, 'Jemma' as forename, "
        "'Parkinson' as surname, '1234567' as teacher_number, "
        "'j.parkinson@example.org' as email"
    )
    found = con.execute(
        f"select {identifiers.payload_names('employee', '$p', 'person')} from person",
        {"p": json.dumps(payload)},
    ).fetchone()[0]
    assert found is names


def test_a_payload_that_is_not_a_json_object_names_no_one() -> None:
    con = duckdb.connect()
    con.execute(
        "create table person as select 'B801200005001' as upn, 'P1' as pupil_id, "
        "'Ada' as forename, 'Lovelace' as surname, date '2015-05-01' as date_of_birth"
    )
    for payload in ("B801200005001", '["B801200005001"]', "{broken", None):
        assert (
            con.execute(
                f"select {identifiers.payload_names('pupil', '$p', 'person')} from person",
                {"p": payload},
            ).fetchone()[0]
            is False
        )
