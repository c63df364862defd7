"""Erasure of an employee end to end: only an author's name is kept, on the reports they wrote;
everything else about them goes, and a reload brings nothing back.
"""

from __future__ import annotations

import json
from pathlib import Path

from tinytracker.cli.main import main
from tinytracker.loading.run import load_extract

from conftest import SyntheticTemplate, read
from erase_helpers import AS_OF, REASON, erase, letter, setup_row, write_extract


def employee_with_reports_and_correspondence(db: Path) -> tuple[str, str, int]:
    return read(
        db,
        """
        select e.organisation_id, e.employee_id, count(distinct r.report_id)
        from raw.employees as e
        inner join raw.reports as r
            on r.organisation_id = e.organisation_id and r.author_employee_id = e.employee_id
        where e.anonymised_on is null and e.teacher_number is not null
            and exists (select 1 from raw.correspondence as m
                        where m.organisation_id = e.organisation_id
                        and m.subject_kind = 'employee' and m.subject_id = e.employee_id)
        group by all order by 3 desc, 1, 2 limit 1
    """,
    )[0]


def test_employee_erasure_end_to_end_keeps_only_an_authors_name(
    wh, synthetic_template: SyntheticTemplate, tmp_path, capsys
):
    org, employee, authored = employee_with_reports_and_correspondence(wh)
    forename, surname, email, teacher_number = read(
        wh,
        "select forename, surname, email, teacher_number from raw.employees "
        "where organisation_id = ? and employee_id = ?",
        [org, employee],
    )[0]
    nonauthor = read(
        wh,
        "select min(e.employee_id) from raw.employees as e where "
        "e.organisation_id = ? and e.anonymised_on is null and not exists "
        "(select 1 from raw.reports as r where r.organisation_id = ? "
        "and r.author_employee_id = e.employee_id)",
        [org, org],
    )[0][0]
    pupil = read(
        wh,
        "select min(pupil_id) from raw.pupils where organisation_id = ? and anonymised_on is null",
        [org],
    )[0][0]
    assert (
        erase(
            "--organisation",
            org,
            "--employee",
            employee,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    capsys.readouterr()

    # the name stays (author of historical reports), every other detail goes
    ((kept_id, kept_email, kept_number, rule),) = read(
        wh,
        "select employee_id, email, teacher_number, anonymised_by_rule_id "
        "from raw.employees where organisation_id = ? and forename = ? and surname = ?",
        [org, forename, surname],
    )
    assert kept_id != employee and (kept_email, kept_number, rule) == (
        None,
        None,
        "erasure_request",
    )
    assert read(
        wh,
        "select count(*) from raw.reports where organisation_id = ? and author_employee_id = ?",
        [org, kept_id],
    ) == [(authored,)]
    assert read(
        wh,
        "select count(*) from raw.correspondence where organisation_id = ? "
        "and subject_kind = 'employee' and subject_id = ?",
        [org, employee],
    ) == [(0,)]
    # the one surrogate the list keeps: that record is not anonymous, and reports need it
    assert read(
        wh, "select surrogate_id from audit.erasure_suppressions where subject_kind = 'employee'"
    ) == [(kept_id,)]

    # reload, then a newer extract: nothing comes back, a new report by them is re-keyed
    load_extract(synthetic_template.extract)
    newer = write_extract(
        tmp_path / "newer",
        {
            "reports": [
                {
                    "organisation_id": org,
                    "report_id": "R9999991",
                    "pupil_id": pupil,
                    "author_employee_id": employee,
                    "title": "Spring report",
                    "issued_on": "2025-09-20",
                }
            ],
            "correspondence": [letter(org, "M9999981", "employee", employee)],
            "setup_imports": [
                setup_row(
                    org,
                    "IMP0098",
                    1,
                    {"First Name": forename, "Last Name": surname, "Role": "Teacher"},
                ),
                setup_row(org, "IMP0098", 2, {"TRN": f"{teacher_number[:2]} {teacher_number[2:]}"}),
                setup_row(org, "IMP0098", 3, {"Email Address": email.upper()}),
            ],
        },
    )
    result = load_extract(newer)
    assert result.file("correspondence").suppressed == 1
    assert result.file("setup_imports").suppressed == 3
    assert read(
        wh,
        "select count(*) from raw.employees where organisation_id = ? and employee_id = ?",
        [org, employee],
    ) == [(0,)]
    assert read(
        wh,
        "select author_employee_id from raw.reports where organisation_id = ? "
        "and report_id = 'R9999991'",
        [org],
    ) == [(kept_id,)]

    # the access request by the MIS id answers with what is still held
    bundle = tmp_path / "sar"
    assert main(["sar", "--organisation", org, "--employee", employee, "--out", str(bundle)]) == 0
    sections = json.loads((bundle / "sar.json").read_text())["sections"]
    record = dict(zip(sections["raw.employees"]["columns"], sections["raw.employees"]["rows"][0]))
    assert (record["forename"], record["surname"], record["email"]) == (forename, surname, None)
    assert sections["raw.reports"]["row_count"] == authored + 1

    # an employee who wrote nothing loses the name too, and the list keeps no way to them
    assert (
        erase(
            "--organisation",
            org,
            "--employee",
            nonauthor,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    capsys.readouterr()
    assert read(
        wh,
        "select count(*) from audit.erasure_suppressions where subject_kind = "
        "'employee' and surrogate_id is null",
    ) == [(1,)]
    assert read(
        wh,
        "select count(*) from raw.employees where organisation_id = ? and "
        "anonymised_by_rule_id = 'erasure_request' and forename is null",
        [org],
    ) == [(1,)]
    assert (
        main(
            [
                "sar",
                "--organisation",
                org,
                "--employee",
                nonauthor,
                "--out",
                str(tmp_path / "sar2"),
            ]
        )
        == 3
    )
    assert "no longer holds data that identifies them" in capsys.readouterr().err
    later = write_extract(
        tmp_path / "later",
        {
            "reports": [
                {
                    "organisation_id": org,
                    "report_id": "R9999993",
                    "pupil_id": pupil,
                    "author_employee_id": nonauthor,
                    "title": "Summer report",
                    "issued_on": "2025-09-25",
                }
            ]
        },
    )
    load_extract(later)
    assert read(
        wh,
        "select author_employee_id from raw.reports where organisation_id = ? "
        "and report_id = 'R9999993'",
        [org],
    ) == [(None,)]
