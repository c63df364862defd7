"""Subject Access Requests on the synthetic trust: complete, about one person only, logged
without personal data, and a clear error (no file) for someone the warehouse does not hold.

Completeness is checked table by table against an independent query of what is about the
person, after adding hand-made rows the generator never makes (quarantined rows naming the
pupil, a setup-import row written differently, a legal hold) and decoys about other people
that must stay out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.retention import holds

LANDING_RAW = (
    "raw.pupils",
    "raw.pupil_contacts",
    "raw.attendance_sessions",
    "raw.assessments",
    "raw.sen_records",
    "raw.reports",
    "raw.correspondence",
    "raw.setup_imports",
    "raw.quarantine",
)


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def pupil_with_rows_everywhere(db: Path) -> tuple[str, str]:
    """(organisation, pupil) of a living pupil with contacts, marks, results, SEN, reports,
    correspondence about them and about a contact, and a setup-import row."""
    rows = read(
        db,
        """
        with p as (select * from raw.pupils where anonymised_on is null),
        imports as (
            select distinct i.organisation_id, p.pupil_id from raw.setup_imports as i
            inner join p on i.organisation_id = p.organisation_id
                and json_extract_string(i.payload, '$.upn') = p.upn
        ),
        about_pupil as (select organisation_id, subject_id as pupil_id from raw.correspondence
                        where subject_kind = 'pupil'),
        about_contact as (
            select c.organisation_id, c.pupil_id from raw.correspondence as m
            inner join raw.pupil_contacts as c on m.organisation_id = c.organisation_id
                and m.subject_kind = 'contact' and m.subject_id = c.contact_id
        )
        select organisation_id, pupil_id from p
        semi join imports using (organisation_id, pupil_id)
        semi join about_pupil using (organisation_id, pupil_id)
        semi join about_contact using (organisation_id, pupil_id)
        semi join raw.sen_records using (organisation_id, pupil_id)
        semi join raw.reports using (organisation_id, pupil_id)
        semi join raw.assessments using (organisation_id, pupil_id)
        semi join raw.attendance_sessions using (organisation_id, pupil_id)
        order by organisation_id, pupil_id limit 1
    """,
    )
    assert rows, "the synthetic trust should have a pupil with rows in every table"
    return rows[0]


def other_person(db: Path, org: str, pupil: str) -> tuple[str, str, str, str, dt.date]:
    """Another living pupil of the same organisation: (id, upn, forename, surname, dob)."""
    return read(
        db,
        "select pupil_id, upn, forename, surname, date_of_birth from raw.pupils "
        "where organisation_id = ? and pupil_id <> ? and anonymised_on is null "
        "and upn is not null order by pupil_id limit 1",
        [org, pupil],
    )[0]


def add_hand_made_rows(db: Path, org: str, pupil: str) -> dict[str, Any]:
    """Rows the generator never makes: quarantine, a re-typed setup row, a hold; plus decoys."""
    other_id, other_upn, *_ = other_person(db, org, pupil)
    con = duckdb.connect(str(db))
    try:
        upn, forename, surname, dob = con.execute(
            "select upn, forename, surname, date_of_birth from raw.pupils "
            "where organisation_id = ? and pupil_id = ?",
            [org, pupil],
        ).fetchone()
        contact = con.execute(
            "select contact_id from raw.pupil_contacts where organisation_id = ? "
            "and pupil_id = ? order by contact_id limit 1",
            [org, pupil],
        ).fetchone()[0]
        now = dt.datetime(2025, 9, 1, 8, 0)
        quarantine = [
            # about the pupil: by pupil_id (padded, as given), by contact, by correspondence
            (
                "attendance_sessions.csv",
                7,
                "unknown_code",
                {
                    "organisation_id": org,
                    "pupil_id": f" {pupil} ",
                    "session_date": "2025-01-06",
                    "session": "AM",
                    "mark": "?",
                },
            ),
            (
                "pupil_contacts.csv",
                9,
                "missing_required",
                {"organisation_id": org, "contact_id": contact, "pupil_id": None, "forename": "X"},
            ),
            (
                "correspondence.csv",
                3,
                "bad_date",
                {
                    "organisation_id": org,
                    "correspondence_id": "MQ1",
                    "subject_kind": "pupil",
                    "subject_id": pupil,
                    "sent_on": "2025-13-01",
                },
            ),
            (
                "setup_imports.csv",
                4,
                "bad_date",
                {
                    "organisation_id": org,
                    "import_id": "IMPQ",
                    "payload": json.dumps({"upn": upn, "forename": forename}),
                },
            ),
            # decoys: another pupil, and this pupil's id in another organisation
            (
                "attendance_sessions.csv",
                8,
                "unknown_code",
                {"organisation_id": org, "pupil_id": other_id, "mark": "?"},
            ),
            (
                "pupils.csv",
                2,
                "bad_upn",
                {"organisation_id": org, "pupil_id": "PX", "upn": other_upn},
            ),
        ]
        con.executemany(
            "insert into raw.quarantine values ('L1', ?, ?, ?, 'test', ?, ?, ?)",
            [
                (f, line, rule, values["organisation_id"], json.dumps(values), now)
                for f, line, rule, values in quarantine
            ],
        )
        con.execute(
            "insert into raw.quarantine values ('L1', 'attendance_sessions.csv', 11, "
            "'unknown_code', 'test', 'ORG-ELSEWHERE', ?, ?)",
            [json.dumps({"organisation_id": "ORG-ELSEWHERE", "pupil_id": pupil}), now],
        )
        setup = [
            # the same pupil typed differently: lower-case UPN with spaces: matches
            ("IMPT", 1, json.dumps({"upn": f"  {upn.lower()} ", "forename": "x"})),
            # name and date of birth, no UPN: matches
            (
                "IMPT",
                2,
                json.dumps(
                    {
                        "forename": forename.upper(),
                        "surname": surname,
                        "date_of_birth": dob.isoformat(),
                    }
                ),
            ),
            # same name, another birthday: someone else
            (
                "IMPT",
                3,
                json.dumps(
                    {"forename": forename, "surname": surname, "date_of_birth": "1999-01-01"}
                ),
            ),
            # not JSON at all
            ("IMPT", 4, f"{forename} {surname}"),
            # the way an MIS export writes it: its own key names, a UK date: matches
            (
                "IMPT",
                5,
                json.dumps(
                    {
                        "Legal Forename": forename,
                        "SURNAME": surname.upper(),
                        "DOB": dob.strftime("%d/%m/%Y"),
                    }
                ),
            ),
            (
                "IMPT",
                6,
                json.dumps(
                    {"FirstName": forename, "LastName": surname, "DateOfBirth": "01/01/1999"}
                ),
            ),  # a namesake
        ]
        con.executemany(
            "insert into raw.setup_imports (organisation_id, import_id, file_name, received_on, "
            "processed_on, row_number, payload) values (?, ?, 'typed.csv', date '2025-08-01', "
            "date '2025-08-02', ?, ?)",
            [(org, i, n, p) for i, n, p in setup],
        )
        holds.add_hold(
            con,
            org,
            "complaint about a report",
            subject_kind="pupil",
            subject_id=pupil,
            placed_by="dpo",
        )
        holds.add_hold(con, org, "dispute with the organisation", placed_by="dpo")
        con.execute("checkpoint")
    finally:
        con.close()
    return {
        "contact": contact,
        "quarantine_about": 4,
        "setup_about": ("IMPT", [1, 2, 5]),
        "other_id": other_id,
        "other_upn": other_upn,
    }


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Iterator[Path]:
    yield synthetic_warehouse


def run_sar(*args: str) -> int:
    return main(["sar", *args])


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value.strip()


def test_sar_holds_every_row_about_the_pupil_and_nothing_about_anyone_else(wh, tmp_path, capsys):
    org, pupil = pupil_with_rows_everywhere(wh)
    made = add_hand_made_rows(wh, org, pupil)
    out = tmp_path / "bundle"
    assert run_sar("pupil", "--organisation", org, "--id", pupil, "--out", str(out)) == 0
    data = json.loads((out / "sar.json").read_text())
    sections = data["sections"]
    assert data["schema_version"] and data["subject"]["id"] == pupil

    def rows(name: str) -> list[dict]:
        return [dict(zip(sections[name]["columns"], r)) for r in sections[name]["rows"]]

    contacts = {
        c
        for (c,) in read(
            wh,
            "select contact_id from raw.pupil_contacts where organisation_id = ? and pupil_id = ?",
            [org, pupil],
        )
    }
    expected_counts = {
        table: read(
            wh,
            f"select count(*) from {table} where organisation_id = ? and pupil_id = ?",
            [org, pupil],
        )[0][0]
        for table in (
            "raw.pupils",
            "raw.pupil_contacts",
            "raw.attendance_sessions",
            "raw.assessments",
            "raw.sen_records",
            "raw.reports",
        )
    }
    expected_counts["raw.correspondence"] = read(
        wh,
        "select count(*) from raw.correspondence where organisation_id = ? and "
        "((subject_kind = 'pupil' and subject_id = ?) or (subject_kind = 'contact' "
        "and subject_id in (select unnest(?))))",
        [org, pupil, sorted(contacts)],
    )[0][0]
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    expected_counts["raw.setup_imports"] = read(
        wh,
        "select count(*) from raw.setup_imports where organisation_id = ? "
        "and json_valid(payload) and json_extract_string(payload, '$.upn') = ?",
        [org, upn],
    )[0][0] + len(made["setup_about"][1])
    expected_counts["raw.quarantine"] = made["quarantine_about"]
    for table in LANDING_RAW:
        assert sections[table]["row_count"] == len(sections[table]["rows"])
        assert len(sections[table]["rows"]) == expected_counts[table] > 0, table

    # every raw row is about the pupil, one of their contacts or correspondence about them
    for table in (
        "raw.pupils",
        "raw.attendance_sessions",
        "raw.assessments",
        "raw.sen_records",
        "raw.reports",
        "raw.pupil_contacts",
    ):
        assert {(r["organisation_id"], r["pupil_id"]) for r in rows(table)} == {(org, pupil)}
    typed = [r["row_number"] for r in rows("raw.setup_imports") if r["import_id"] == "IMPT"]
    assert typed == made["setup_about"][1]
    assert {r["organisation_id"] for r in rows("raw.quarantine")} == {org}
    # the rest of the warehouse: retention status, holds, the de-identified layer
    kinds = {r["subject_kind"] for r in rows("retention.retention_status")}
    assert {"pupil", "pupil_contact", "correspondence", "setup_import"} <= kinds
    assert [r["reason"] for r in rows("audit.legal_holds")] == ["complaint about a report"]
    assert "reason" not in sections["audit.legal_holds (organisation)"]["columns"]
    assert len(rows("audit.legal_holds (organisation)")) == 1
    assert len(rows("intermediate.int_pupil_keys")) == 1
    key = rows("intermediate.int_pupil_keys")[0]["pupil_key"]
    assert (
        len(rows("intermediate.int_attendance_sessions_classified"))
        == expected_counts["raw.attendance_sessions"]
    )
    assert all(r["pupil_key"] == key for r in rows("intermediate.int_pupils_characterised"))

    # nothing identifies anyone else: no other pupil's UPN or key anywhere, no MIS id of
    # another pupil of the organisation (ids are unique only within one organisation)
    others = read(
        wh,
        "select organisation_id = ? as same_org, pupil_id, upn from raw.pupils "
        "where not (organisation_id = ? and pupil_id = ?) "
        "and anonymised_on is null",
        [org, org, pupil],
    )
    other_values = {upn for _, _, upn in others if upn} | {
        pupil_id for same_org, pupil_id, _ in others if same_org
    }
    other_keys = {
        k
        for (k,) in read(
            wh,
            "select pupil_key from intermediate.int_pupil_keys "
            "where not (organisation_id = ? and pupil_id = ?)",
            [org, pupil],
        )
    }
    found = set(strings(sections))
    assert not found & other_values, found & other_values
    assert not found & other_keys
    assert made["other_upn"] not in json.dumps(sections)
    printed = capsys.readouterr().out
    assert data["request_id"] in printed and "raw.attendance_sessions" in printed


def test_sar_html_says_what_is_held_and_when_it_goes_in_plain_words(wh, tmp_path):
    org, pupil = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    assert run_sar("pupil", "--organisation", org, "--id", pupil, "--out", str(out)) == 0
    data = json.loads((out / "sar.json").read_text())
    page = (out / "sar.html").read_text()
    assert data["request_id"] in page
    assert "Personal details" in page and "What the warehouse holds" in page
    assert "is to be deleted on" in page or "is kept" in page
    assert "backups keep a copy until" in page
    for name, section in data["sections"].items():
        assert f"{name}: {section['row_count']} row(s)" in page.replace("&#x27;", "'")


def test_sar_of_an_unknown_pupil_is_a_clear_error_and_writes_no_file(wh, tmp_path, capsys):
    org, _ = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    assert run_sar("pupil", "--organisation", org, "--id", "P-NOBODY", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinytracker sar: error: unknown pupil 'P-NOBODY'")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert read(wh, "select request_kind, status from audit.subject_requests") == [
        ("access", "unknown_subject")
    ]


def test_sar_of_an_unknown_organisation_or_an_anonymised_record_is_refused(wh, tmp_path, capsys):
    assert (
        run_sar("pupil", "--organisation", "ORG-NONE", "--id", "P1", "--out", str(tmp_path / "a"))
        == 2
    )
    assert "unknown organisation 'ORG-NONE'" in capsys.readouterr().err
    con = duckdb.connect(str(wh))
    org, surrogate = con.execute(
        "select organisation_id, pupil_id from raw.pupils order by all limit 1"
    ).fetchone()
    con.execute(
        "update raw.pupils set anonymised_on = date '2025-09-01' "
        "where organisation_id = ? and pupil_id = ?",
        [org, surrogate],
    )
    con.close()
    assert (
        run_sar("pupil", "--organisation", org, "--id", surrogate, "--out", str(tmp_path / "b"))
        == 2
    )
    assert "is an anonymised record" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_sar_log_holds_no_personal_data_and_is_due_a_month_after_receipt(wh, tmp_path):
    org, pupil = pupil_with_rows_everywhere(wh)
    assert (
        run_sar(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--received",
            "2025-01-31",
            "--by",
            "dpo",
            "--out",
            str(tmp_path / "bundle"),
        )
        == 0
    )
    logged = read(wh, "select * from audit.subject_requests")
    assert len(logged) == 1
    row = dict(
        zip(
            [
                d
                for (d,) in read(
                    wh,
                    "select column_name from duckdb_columns() where "
                    "schema_name = 'audit' and table_name = "
                    "'subject_requests' order by column_index",
                )
            ],
            logged[0],
        )
    )
    assert row["request_kind"] == "access" and row["status"] == "completed"
    assert row["received_on"] == dt.date(2025, 1, 31) and row["due_on"] == dt.date(2025, 2, 28)
    assert row["handled_by"] == "dpo" and row["organisation_id"] == org
    identifiers = {
        str(v)
        for (v,) in read(
            wh,
            "select unnest([pupil_id, upn, forename, surname, cast(date_of_birth as varchar), "
            "address, postcode, email, phone]) from raw.pupils where organisation_id = ? "
            "and pupil_id = ?",
            [org, pupil],
        )
        if v is not None
    }
    assert not {str(v) for v in logged[0]} & identifiers
    bundle = json.loads((tmp_path / "bundle" / "sar.json").read_text())
    assert bundle["request_id"] == row["request_id"] and bundle["due_on"] == "2025-02-28"


def test_sar_for_an_employee_holds_every_row_about_them_and_nothing_about_anyone_else(wh, tmp_path):
    org, employee, authored = read(
        wh,
        "select e.organisation_id, e.employee_id, count(*) from raw.employees as e "
        "inner join raw.reports as r on e.organisation_id = r.organisation_id "
        "and r.author_employee_id = e.employee_id where e.anonymised_on is null "
        "and e.teacher_number is not null and exists (select 1 from raw.correspondence "
        "as m where m.organisation_id = e.organisation_id and m.subject_kind = 'employee' "
        "and m.subject_id = e.employee_id) group by all order by 3 desc, 1, 2 limit 1",
    )[0]
    forename, surname, email, teacher_number = read(
        wh,
        "select forename, surname, email, teacher_number from raw.employees "
        "where organisation_id = ? and employee_id = ?",
        [org, employee],
    )[0]
    other, other_forename, other_surname, other_email = read(
        wh,
        "select employee_id, forename, surname, email from raw.employees "
        "where organisation_id = ? and employee_id <> ? and email is not null "
        "order by employee_id limit 1",
        [org, employee],
    )[0]
    correspondence = read(
        wh,
        "select count(*) from raw.correspondence where organisation_id = ? "
        "and subject_kind = 'employee' and subject_id = ?",
        [org, employee],
    )[0][0]
    con = duckdb.connect(str(wh))
    try:
        now = dt.datetime(2025, 9, 1, 8, 0)
        con.executemany(
            "insert into raw.quarantine values ('L1', ?, ?, ?, 'test', ?, ?, ?)",
            [
                (f, line, rule, org, json.dumps(values), now)
                for f, line, rule, values in [
                    (
                        "employees.csv",
                        4,
                        "bad_email",
                        {"employee_id": f" {employee} ", "email": "not-an-email"},
                    ),
                    (
                        "correspondence.csv",
                        5,
                        "bad_date",
                        {
                            "correspondence_id": "MQE",
                            "subject_kind": "employee",
                            "subject_id": employee,
                            "sent_on": "2025-13-01",
                        },
                    ),
                    ("employees.csv", 6, "bad_email", {"employee_id": other, "email": "x"}),
                ]
            ],
        )
        con.executemany(
            "insert into raw.setup_imports (organisation_id, import_id, file_name, received_on, "
            "processed_on, row_number, payload) values (?, 'IMPS', 'staff.csv', "
            "date '2025-08-01', date '2025-08-02', ?, ?)",
            [
                (org, n, json.dumps(payload))
                for n, payload in [
                    (1, {"First Name": forename, "Last Name": surname, "Role": "Teacher"}),
                    (2, {"TRN": f"{teacher_number[:2]} {teacher_number[2:]}"}),
                    (3, {"Email": email.upper()}),
                    (
                        4,
                        {
                            "First Name": other_forename,
                            "Last Name": other_surname,
                            "Email": other_email,
                        },
                    ),  # a colleague
                ]
            ],
        )
        con.execute(
            'update raw.reports set _extra = \'{"term": "autumn"}\' '
            "where organisation_id = ? and author_employee_id = ? and report_id = "
            "(select min(report_id) from raw.reports where organisation_id = ? "
            "and author_employee_id = ?)",
            [org, employee, org, employee],
        )
        holds.add_hold(
            con,
            org,
            "grievance under review",
            subject_kind="employee",
            subject_id=employee,
            placed_by="dpo",
        )
        holds.add_hold(
            con,
            org,
            "grievance of a colleague",
            subject_kind="employee",
            subject_id=other,
            placed_by="dpo",
        )
        con.execute("checkpoint")
    finally:
        con.close()
    out = tmp_path / "bundle"
    assert run_sar("employee", "--organisation", org, "--id", employee, "--out", str(out)) == 0
    sections = json.loads((out / "sar.json").read_text())["sections"]

    def rows(name: str) -> list[dict]:
        return [dict(zip(sections[name]["columns"], r)) for r in sections[name]["rows"]]

    assert [r["employee_id"] for r in rows("raw.employees")] == [employee]
    assert len(rows("raw.reports")) == authored
    assert "pupil_id" not in sections["raw.reports"]["columns"]
    assert [r["_extra"] for r in rows("raw.reports") if r["_extra"]] == [{"term": "autumn"}]
    assert len(rows("raw.correspondence")) == correspondence > 0
    assert [r["row_number"] for r in rows("raw.setup_imports")] == [1, 2, 3]
    assert sorted(r["line_number"] for r in rows("raw.quarantine")) == [4, 5]
    assert [r["reason"] for r in rows("audit.legal_holds")] == ["grievance under review"]
    assert not any(name.startswith("intermediate.") for name in sections)

    # nothing about anyone else: no pupil, contact or other employee of the organisation
    found = set(strings(sections))
    others = {
        v
        for (v,) in read(
            wh,
            """
        select pupil_id from raw.pupils where organisation_id = $org
        union select upn from raw.pupils where organisation_id = $org and upn is not null
        union select contact_id from raw.pupil_contacts where organisation_id = $org
        union select email from raw.pupil_contacts
            where organisation_id = $org and email is not null
        union select employee_id from raw.employees
            where organisation_id = $org and employee_id <> $id
        union select email from raw.employees
            where organisation_id = $org and employee_id <> $id and email is not null
        union select teacher_number from raw.employees where organisation_id = $org
            and employee_id <> $id and teacher_number is not null
        """.replace("$org", "?").replace("$id", "?"),
            [org] * 4 + [org, employee] * 3,
        )
    }
    assert not found & others, found & others
    assert other_surname not in json.dumps(rows("raw.setup_imports"))


def test_sar_never_writes_into_a_folder_that_is_not_empty(wh, tmp_path, capsys):
    org, pupil = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep.txt").write_text("someone else's file")
    assert run_sar("pupil", "--organisation", org, "--id", pupil, "--out", str(out)) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert read(wh, "select count(*) from audit.subject_requests")[0][0] == 0
