"""A Subject Access Request about an employee: every row about them (their record, the reports
they wrote, correspondence, setup-import and quarantined rows naming them) and nothing about
anyone else, not even the pupils their reports are about.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from tinytracker.retention import holds

from conftest import read
from sar_helpers import run_sar, strings


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
            "complaint",
            subject_kind="employee",
            subject_id=employee,
            placed_by="dpo",
        )
        holds.add_hold(
            con,
            org,
            "complaint",
            subject_kind="employee",
            subject_id=other,
            placed_by="dpo",
        )
        con.execute("checkpoint")
    finally:
        con.close()
    out = tmp_path / "bundle"
    assert run_sar("--organisation", org, "--employee", employee, "--out", str(out)) == 0
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
    assert [r["reason"] for r in rows("audit.legal_holds")] == ["complaint"]
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
