"""Erasure on the controller's request: dry run, apply end to end (audit, physical erasure,
reload of the same and of a newer extract), employees, setup-import rows, refusals (legal
hold, unknown subject, a reason naming the person), and contacts.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.core import secret
from tinytracker.core.contract import FILES_BY_NAME, LANDING_FILES
from tinytracker.erasure.result import action_date
from tinytracker.loading.run import load_extract
from tinytracker.retention import holds

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate

AS_OF = SYNTHETIC_AS_OF.isoformat()
RAW_TABLES = [f"raw.{f.name}" for f in LANDING_FILES] + ["raw.quarantine"]
REASON = "erasure request from the school, ticket 4411"


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def raw_unchanged(before: Path, after: Path) -> bool:
    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])
        return all(
            con.execute(
                f"select count(*) from (select * from b.{t} except all select * from a.{t})"
            ).fetchone()[0]
            == 0
            and con.execute(
                f"select count(*) from (select * from a.{t} except all select * from b.{t})"
            ).fetchone()[0]
            == 0
            for t in RAW_TABLES
        )
    finally:
        con.close()


def pupil_with_contacts_and_correspondence(db: Path) -> tuple[str, str]:
    """A living pupil of an organisation without holds, with a contact, correspondence about
    them and about the contact, and attendance."""
    return read(
        db,
        """
        select p.organisation_id, p.pupil_id from raw.pupils as p
        where p.anonymised_on is null and p.upn is not null
            and exists (select 1 from raw.correspondence as m
                        where m.organisation_id = p.organisation_id
                        and m.subject_kind = 'pupil' and m.subject_id = p.pupil_id)
            and exists (select 1 from raw.correspondence as m
                        inner join raw.pupil_contacts as c
                            on m.organisation_id = c.organisation_id
                            and m.subject_kind = 'contact' and m.subject_id = c.contact_id
                        where c.organisation_id = p.organisation_id
                            and c.pupil_id = p.pupil_id)
            and exists (select 1 from raw.attendance_sessions as a
                        where a.organisation_id = p.organisation_id
                        and a.pupil_id = p.pupil_id)
        order by all limit 1
    """,
    )[0]


def erase(*args: str) -> int:
    return main(["erase", *args])


def write_extract(folder: Path, rows: dict[str, list[dict]]) -> Path:
    """A newer extract holding only the files given (extracts may be partial)."""
    folder.mkdir(parents=True)
    for name, file_rows in rows.items():
        columns = FILES_BY_NAME[name].column_names
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            for row in file_rows:
                writer.writerow({c: row.get(c, "") for c in columns})
    return folder


def letter(org: str, correspondence_id: str, kind: str, subject_id: str, **values: str) -> dict:
    return {
        "organisation_id": org,
        "correspondence_id": correspondence_id,
        "subject_kind": kind,
        "subject_id": subject_id,
        "sent_on": "2025-09-20",
        "channel": "letter",
        "summary": "Newer letter",
        **values,
    }


def setup_row(
    org: str, import_id: str, row_number: int, payload: dict | str, **values: str
) -> dict:
    return {
        "organisation_id": org,
        "import_id": import_id,
        "file_name": "late.csv",
        "received_on": "2025-09-18",
        "processed_on": "2025-09-19",
        "row_number": str(row_number),
        "payload": payload if isinstance(payload, str) else json.dumps(payload),
        **values,
    }


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    return synthetic_warehouse


def test_dry_run_shows_the_steps_and_changes_nothing(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert (
        erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON, "--as-of", AS_OF)
        == 0
    )
    out = capsys.readouterr().out
    marks = read(
        wh,
        "select count(*) from raw.attendance_sessions where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0][0]
    assert "(dry run)" in out and "add --apply to erase" in out
    assert f"raw.attendance_sessions  anonymise          1 {marks:>9,}" in out
    assert "erasure_request_correspondence" in out and "raw.pupil_contacts" in out
    assert raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.subject_requests")[0][0] == 0
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0
    assert read(wh, "select count(*) from audit.retention_runs")[0][0] == 0


def test_dry_run_deletes_only_the_setup_import_rows_naming_the_pupil_unless_kept(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    imports = read(
        wh,
        "select import_id, count(*) filter (where "
        "json_extract_string(payload, '$.upn') = ?), count(*) "
        "from raw.setup_imports where organisation_id = ? group by 1 "
        "having count(*) filter (where json_extract_string(payload, '$.upn') = ?) "
        "> 0 order by 1",
        [upn, org, upn],
    )
    assert imports, "the chosen pupil should be named in a setup import"
    import_id, naming, total = imports[0]
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 0
    out = capsys.readouterr().out
    assert (
        f"setup import {import_id}: {naming} row(s) naming the pupil would be deleted; "
        f"its {total - naming} other row(s) are kept"
    ) in out
    assert (
        f"erasure_request_setup_import    raw.setup_imports        delete             "
        f"{len(imports)} {sum(n for _, n, _ in imports):>9,}" in out
    )
    assert "deleted whole" not in out
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--keep-setup-imports",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"left as is: setup import {import_id} ({naming} row(s) still name the pupil; "
        "--keep-setup-imports" in out
    )
    assert "erasure_request_setup_import" not in out


def test_erasure_request_end_to_end_survives_a_reload(
    wh, synthetic_template: SyntheticTemplate, tmp_path, capsys
):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn, forename, surname = read(
        wh,
        "select upn, forename, surname from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0]
    contacts = [
        c
        for (c,) in read(
            wh,
            "select contact_id from raw.pupil_contacts where organisation_id = ? and pupil_id = ?",
            [org, pupil],
        )
    ]
    about = [
        m
        for (m,) in read(
            wh,
            "select correspondence_id from raw.correspondence where organisation_id = ? and "
            "((subject_kind = 'pupil' and subject_id = ?) or (subject_kind = 'contact' and "
            "subject_id in (select unnest(?))))",
            [org, pupil, contacts],
        )
    ]
    marks = read(
        wh,
        "select count(*) from raw.attendance_sessions where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0][0]
    setup_rows_before, setup_rows_naming = read(
        wh,
        "select count(*), count(*) filter (where json_extract_string(payload, '$.upn') = ?) "
        "from raw.setup_imports where organisation_id = ?",
        [upn, org],
    )[0]
    assert setup_rows_naming > 0
    assert upn.encode() in wh.read_bytes()

    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
            "--by",
            "dpo",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "warehouse file rewritten" in out

    # the pupil is anonymised: no row keyed by the MIS id, identifiers gone, marks kept
    for table in (
        "raw.pupils",
        "raw.attendance_sessions",
        "raw.assessments",
        "raw.sen_records",
        "raw.reports",
        "raw.pupil_contacts",
    ):
        assert (
            read(
                wh,
                f"select count(*) from {table} where organisation_id = ? and pupil_id = ?",
                [org, pupil],
            )[0][0]
            == 0
        ), table
    # the list holds the pupil's token but no way to the anonymised record
    assert read(
        wh,
        "select surrogate_id, rule_id from audit.erasure_suppressions "
        "where subject_kind = 'pupil' and rule_id = 'erasure_request'",
    ) == [(None, "erasure_request")]
    (surrogate,) = [
        s
        for (s,) in read(
            wh, "select pupil_id from raw.pupils where anonymised_by_rule_id = 'erasure_request'"
        )
    ]
    assert read(
        wh,
        "select upn, forename from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, surrogate],
    ) == [(None, None)]
    assert (
        read(
            wh,
            "select count(*) from raw.attendance_sessions where organisation_id = ? "
            "and pupil_id = ?",
            [org, surrogate],
        )[0][0]
        == marks
    )
    assert (
        read(
            wh,
            "select count(*) from raw.correspondence where organisation_id = ? "
            "and correspondence_id in (select unnest(?))",
            [org, about],
        )[0][0]
        == 0
    )
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where subject_kind = 'correspondence'"
    )[0][0] == len(about)
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where subject_kind = 'pupil_contact'"
    )[0][0] == len(contacts)
    # same audit trail as a scheduled run, and the request is logged without the person
    run_id, requested_by, physically = read(
        wh,
        "select run_id, requested_by, physically_erased_at is not null "
        "from audit.retention_runs where not is_dry_run",
    )[0]
    assert requested_by == "erasure_request" and physically
    request = read(
        wh,
        "select request_kind, subject_kind, status, run_id, reason, handled_by "
        "from audit.subject_requests",
    )
    assert request == [("erasure", "pupil", "completed", run_id, REASON, "dpo")]
    logged = {
        str(v)
        for table in ("subject_requests", "retention_log", "retention_runs", "erasure_suppressions")
        for row in read(wh, f"select * from audit.{table}")
        for v in row
    }
    assert not logged & {pupil, upn, forename, surname, *contacts}
    assert read(
        wh,
        "select status from retention.retention_status where organisation_id = ? "
        "and subject_kind = 'pupil' and subject_id = ? and is_winning_rule",
        [org, surrogate],
    ) == [("actioned",)]
    # the setup-import rows naming the pupil are gone, the import's other rows are not, and
    # no erased value is left in the file's bytes
    assert (
        read(
            wh,
            "select count(*) from raw.setup_imports where organisation_id = ? and "
            "json_extract_string(payload, '$.upn') = ?",
            [org, upn],
        )[0][0]
        == 0
    )
    assert (
        read(wh, "select count(*) from raw.setup_imports where organisation_id = ?", [org])[0][0]
        == setup_rows_before - setup_rows_naming
    )
    assert upn.encode() not in wh.read_bytes()

    # a reload of the same extract brings nothing back
    result = load_extract(synthetic_template.extract)
    assert result.total("suppressed") >= marks + 1
    assert result.total("inserted") == result.total("updated") == 0
    assert (
        read(
            wh,
            "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
            [org, pupil],
        )[0][0]
        == 0
    )
    assert (
        read(
            wh,
            "select count(*) from raw.pupil_contacts where organisation_id = ? "
            "and contact_id in (select unnest(?))",
            [org, contacts],
        )[0][0]
        == 0
    )
    assert (
        read(
            wh,
            "select count(*) from raw.correspondence where organisation_id = ? "
            "and correspondence_id in (select unnest(?))",
            [org, about],
        )[0][0]
        == 0
    )

    # asking again: the person is no longer held, and the answer says so
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 2
    assert "was erased on" in capsys.readouterr().err
    assert (
        main(["sar", "pupil", "--organisation", org, "--id", pupil, "--out", str(tmp_path / "sar")])
        == 2
    )
    assert "was erased on" in capsys.readouterr().err
    assert not (tmp_path / "sar").exists()


@pytest.mark.parametrize("scope", ["pupil", "organisation"])
def test_erasure_of_a_subject_on_legal_hold_is_refused(wh, tmp_path, capsys, scope):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    con = duckdb.connect(str(wh))
    hold = holds.add_hold(
        con,
        org,
        "complaint under investigation",
        subject_kind="pupil" if scope == "pupil" else "organisation",
        subject_id=pupil if scope == "pupil" else None,
        placed_by="dpo",
    )
    con.close()
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 3
    )
    err = capsys.readouterr().err
    assert f"is on legal hold ({hold.hold_id})" in err and "nothing was erased" in err
    assert raw_unchanged(before, wh)
    assert read(wh, "select status, run_id from audit.subject_requests") == [
        ("refused_legal_hold", None)
    ]
    # the pupil's contact is held by the pupil's hold too
    contact = read(
        wh,
        "select contact_id from raw.pupil_contacts where organisation_id = ? "
        "and pupil_id = ? limit 1",
        [org, pupil],
    )[0][0]
    assert erase("contact", "--organisation", org, "--id", contact, "--reason", REASON) == 3


def test_unknown_subject_and_reason_naming_the_person_are_refused(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert (
        erase("pupil", "--organisation", org, "--id", "P-NOBODY", "--reason", REASON, "--apply")
        == 2
    )
    assert "unknown pupil 'P-NOBODY'" in capsys.readouterr().err
    surname, contact_forename = read(
        wh,
        "select p.surname, c.forename from raw.pupils as p inner join raw.pupil_contacts "
        "as c using (organisation_id, pupil_id) where p.organisation_id = ? "
        "and p.pupil_id = ? limit 1",
        [org, pupil],
    )[0]
    for reason, what in (
        (f"the {surname} family asked", "surname"),
        (f"request by {contact_forename} (parent)", "contact forename"),
        (f"pupil {pupil} left", "MIS id"),
    ):
        assert (
            erase(
                "pupil",
                "--organisation",
                org,
                "--id",
                pupil,
                "--reason",
                reason,
                "--apply",
                "--as-of",
                AS_OF,
            )
            == 2
        )
        err = capsys.readouterr().err
        assert f"the reason contains the pupil's {what}" in err
        assert surname not in err and contact_forename not in err
    assert raw_unchanged(before, wh)
    assert read(wh, "select status from audit.subject_requests") == [("unknown_subject",)]


def test_contact_erasure_deletes_the_contact_and_correspondence_about_them(wh, capsys):
    org, contact, pupil = read(
        wh,
        """
        select c.organisation_id, c.contact_id, c.pupil_id from raw.pupil_contacts as c
        inner join raw.correspondence as m on m.organisation_id = c.organisation_id
            and m.subject_kind = 'contact' and m.subject_id = c.contact_id
        order by all limit 1""",
    )[0]
    assert (
        erase(
            "contact",
            "--organisation",
            org,
            "--id",
            contact,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    assert "contact " + contact in capsys.readouterr().out
    assert (
        read(
            wh,
            "select count(*) from raw.pupil_contacts where organisation_id = ? and contact_id = ?",
            [org, contact],
        )[0][0]
        == 0
    )
    assert (
        read(
            wh,
            "select count(*) from raw.correspondence where organisation_id = ? "
            "and subject_kind = 'contact' and subject_id = ?",
            [org, contact],
        )[0][0]
        == 0
    )
    assert (
        read(
            wh,
            "select count(*) from raw.pupils where organisation_id = ? "
            "and pupil_id = ? and upn is not null",
            [org, pupil],
        )[0][0]
        == 1
    )
    assert read(wh, "select subject_kind from audit.erasure_suppressions order by 1") == [
        ("correspondence",),
        ("pupil_contact",),
    ]


def test_setup_rows_of_someone_on_hold_are_kept_even_when_they_name_the_pupil(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    import_id, held_pupil, held_upn = read(
        wh,
        """
        select i.import_id, other.pupil_id, other.upn
        from raw.setup_imports as i
        inner join raw.pupils as p on p.organisation_id = i.organisation_id
            and json_extract_string(i.payload, '$.upn') = p.upn
        inner join raw.setup_imports as i2 on i2.organisation_id = i.organisation_id
            and i2.import_id = i.import_id
        inner join raw.pupils as other on other.organisation_id = i.organisation_id
            and json_extract_string(i2.payload, '$.upn') = other.upn
        where p.organisation_id = ? and p.pupil_id = ? and other.pupil_id <> p.pupil_id
        order by all limit 1""",
        [org, pupil],
    )[0]
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    con = duckdb.connect(str(wh))
    holds.add_hold(
        con,
        org,
        "complaint about another pupil",
        subject_kind="pupil",
        subject_id=held_pupil,
        placed_by="dpo",
    )
    # one row names both (a sibling list): it is held data, so it stays
    con.execute(
        "insert into raw.setup_imports (organisation_id, import_id, file_name, "
        "received_on, processed_on, row_number, payload) values (?, ?, 'siblings.csv', "
        "date '2025-08-01', date '2025-08-02', 9001, ?)",
        [org, import_id, json.dumps({"UPN": upn, "Sibling UPN": held_upn})],
    )
    con.close()
    held_rows = read(
        wh,
        "select * from raw.setup_imports where organisation_id = ? and "
        "json_extract_string(payload, '$.upn') = ? order by all",
        [org, held_upn],
    )
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"left as is: setup import {import_id} (1 row(s) still name the pupil; they also "
        "name someone on legal hold"
    ) in out
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? and "
            "json_extract_string(payload, '$.upn') = ? order by all",
            [org, held_upn],
        )
        == held_rows
    )
    assert read(
        wh,
        "select row_number from raw.setup_imports where organisation_id = ? "
        "and import_id = ? and (json_extract_string(payload, '$.upn') = ? "
        "or json_extract_string(payload, '$.UPN') = ?)",
        [org, import_id, upn, upn],
    ) == [(9001,)]


def test_a_newer_extract_brings_back_nothing_about_an_erased_pupil(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn, forename, surname, dob = read(
        wh,
        "select upn, forename, surname, date_of_birth from raw.pupils "
        "where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0]
    contact = read(
        wh,
        "select min(contact_id) from raw.pupil_contacts where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    )[0][0]
    other, other_upn, other_forename, other_surname = read(
        wh,
        "select pupil_id, upn, forename, surname from raw.pupils where organisation_id = ? "
        "and pupil_id <> ? and upn is not null order by pupil_id limit 1",
        [org, pupil],
    )[0]
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    capsys.readouterr()

    newer = write_extract(
        tmp_path / "newer",
        {
            "correspondence": [
                letter(org, "M9999991", "pupil", pupil, summary=f"To {forename} {surname}"),
                letter(org, "M9999993", "contact", contact),
                letter(org, "M9999994", "pupil", pupil, sent_on="2025-13-40"),  # invalid too
                letter(org, "M9999995", "Pupil", pupil),  # a kind the contract refuses
                letter(org, "M9999992", "pupil", other),  # someone else: loads
            ],
            "setup_imports": [
                # the way an MIS export writes a pupil list: its own keys, a UK date
                setup_row(
                    org,
                    "IMP0099",
                    1,
                    {"UPN": upn.lower(), "Legal Forename": forename, "Surname": surname},
                ),
                setup_row(
                    org,
                    "IMP0099",
                    2,
                    {
                        "FirstName": forename.upper(),
                        "LastName": surname,
                        "DOB": dob.strftime("%d/%m/%Y"),
                    },
                ),
                setup_row(org, "IMP0099", 3, {"Pupil Id": pupil, "Year": "5"}),
                setup_row(org, "IMP0099", 4, {"upn": upn}, processed_on="2025-02-30"),  # invalid
                setup_row(org, "IMP0099", 5, {"UPN": other_upn, "Forename": other_forename}),
                setup_row(
                    org,
                    "IMP0099",
                    6,
                    {"Forename": forename, "Surname": surname, "DOB": "01/01/1999"},
                ),  # a namesake
            ],
            "pupil_contacts": [
                {
                    "organisation_id": org,
                    "contact_id": "C9999999",
                    "pupil_id": pupil,
                    "forename": "New",
                    "surname": surname,
                    "relationship": "Mother",
                    "priority": "1",
                },
            ],
        },
    )
    result = load_extract(newer)

    assert result.file("correspondence").suppressed == 4
    assert result.file("setup_imports").suppressed == 4
    assert result.file("pupil_contacts").suppressed == 1
    assert read(
        wh,
        "select correspondence_id from raw.correspondence where organisation_id = ? "
        "and correspondence_id like 'M99999%'",
        [org],
    ) == [("M9999992",)]
    assert read(
        wh,
        "select row_number from raw.setup_imports where organisation_id = ? and "
        "import_id = 'IMP0099' order by 1",
        [org],
    ) == [(5,), (6,)]
    assert read(
        wh,
        "select count(*) from raw.pupil_contacts where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(0,)]
    quarantined = " ".join(str(v) for (v,) in read(wh, "select raw_values from raw.quarantine"))
    for value in (pupil, upn, upn.lower(), contact):
        assert value not in quarantined
    # still nothing held about them, and the requests say so
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 2
    assert "no longer holds data that identifies them" in capsys.readouterr().err


def test_erasure_deletes_only_the_pupils_setup_rows_and_the_import_keeps_loading(
    wh, synthetic_template: SyntheticTemplate, tmp_path, capsys
):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    import_id, row_number = read(
        wh,
        "select import_id, row_number from raw.setup_imports where organisation_id = ? "
        "and json_extract_string(payload, '$.upn') = ? order by 1, 2 limit 1",
        [org, upn],
    )[0]
    others = read(
        wh,
        "select * from raw.setup_imports where organisation_id = ? "
        "and import_id = ? and row_number <> ? order by row_number",
        [org, import_id, row_number],
    )
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    capsys.readouterr()
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? "
            "and import_id = ? order by row_number",
            [org, import_id],
        )
        == others
    )
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where subject_kind = 'setup_import'"
    ) == [
        (
            len(
                read(
                    wh,
                    "select 1 from audit.erasure_suppressions where rule_id = "
                    "'erasure_request_setup_import'",
                )
            ),
        )
    ]

    # the same extract again: the pupil's row stays gone, the other rows are unchanged
    result = load_extract(synthetic_template.extract)
    assert result.file("setup_imports").suppressed >= 1
    assert result.file("setup_imports").inserted == 0
    assert (
        read(
            wh,
            "select * from raw.setup_imports where organisation_id = ? "
            "and import_id = ? order by row_number",
            [org, import_id],
        )
        == others
    )
    # the import id is not blocked: a later row of it about someone else loads
    newer = write_extract(
        tmp_path / "newer",
        {
            "setup_imports": [
                setup_row(org, import_id, 999, {"upn": "Z801200099001", "forename": "Newcomer"})
            ]
        },
    )
    assert load_extract(newer).file("setup_imports").inserted == 1


def test_erasure_keeping_setup_rows_says_so_and_a_sar_still_lists_them(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(
        wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?", [org, pupil]
    )[0][0]
    kept = read(
        wh,
        "select import_id, row_number from raw.setup_imports where "
        "organisation_id = ? and json_extract_string(payload, '$.upn') = ? "
        "order by 1, 2",
        [org, upn],
    )
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--keep-setup-imports",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"{len(kept)} row(s) still name the pupil; --keep-setup-imports" in out
    assert "no erased value remains" not in out
    assert (
        f"the {len(kept)} setup-import row(s) left as is still hold the pupil's identifiers"
    ) in out
    assert upn.encode() in wh.read_bytes()  # true: the kept rows hold it

    # the id is erased, but the access request answers with what is still held
    bundle = tmp_path / "sar"
    assert main(["sar", "pupil", "--organisation", org, "--id", pupil, "--out", str(bundle)]) == 0
    data = json.loads((bundle / "sar.json").read_text())
    # erased on the day the erasure ran, whatever date it evaluated the rules for
    assert data["subject"]["erased_on"] == action_date().isoformat()
    assert data["subject"]["record_id"] is None
    section = data["sections"]["raw.setup_imports"]
    rows = [dict(zip(section["columns"], r)) for r in section["rows"]]
    assert [(r["import_id"], r["row_number"]) for r in rows] == kept
    assert "raw.pupils" not in data["sections"]  # the anonymised record is not theirs any more
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 2
    err = capsys.readouterr().err
    assert f"still holds {len(kept)} setup-import row(s) naming them" in err


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
            "employee",
            "--organisation",
            org,
            "--id",
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
    assert (
        main(["sar", "employee", "--organisation", org, "--id", employee, "--out", str(bundle)])
        == 0
    )
    sections = json.loads((bundle / "sar.json").read_text())["sections"]
    record = dict(zip(sections["raw.employees"]["columns"], sections["raw.employees"]["rows"][0]))
    assert (record["forename"], record["surname"], record["email"]) == (forename, surname, None)
    assert sections["raw.reports"]["row_count"] == authored + 1

    # an employee who wrote nothing loses the name too, and the list keeps no way to them
    assert (
        erase(
            "employee",
            "--organisation",
            org,
            "--id",
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
                "employee",
                "--organisation",
                org,
                "--id",
                nonauthor,
                "--out",
                str(tmp_path / "sar2"),
            ]
        )
        == 2
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


def test_no_row_of_the_suppression_list_or_ledger_leads_to_the_anonymised_pupil(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    assert (
        erase(
            "pupil",
            "--organisation",
            org,
            "--id",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
        )
        == 0
    )
    capsys.readouterr()
    (surrogate,) = [
        s
        for (s,) in read(
            wh, "select pupil_id from raw.pupils where anonymised_by_rule_id = 'erasure_request'"
        )
    ]
    kept_ids = {
        v
        for (v,) in read(
            wh,
            """
        select pupil_id from raw.pupils union select pupil_id from raw.attendance_sessions
        union select pupil_id from raw.assessments union select pupil_id from raw.sen_records
        union select pupil_id from raw.reports union select subject_id from raw.correspondence
        union select subject_id from audit.legal_holds where subject_id is not null""",
        )
    }
    assert surrogate in kept_ids

    # what someone holding the secret and the MIS id can reach: every row carrying the
    # pupil's token, in the warehouse and in the erasure ledger beside the backups
    ledger = sorted((wh.parent / "backups" / "erasure-ledger").glob("*.erasure_*.parquet"))
    assert ledger
    con = duckdb.connect(str(wh), read_only=True)
    try:
        # with the secret, the token key is unwrapped from the warehouse (audit.token_key)
        con.execute("set variable tt_secret = ?", [secret.token_key(con, create=False)])
        token = con.execute(
            "select sha256(getvariable('tt_secret') || '|pupil|' || ? || '|' || ?)", [org, pupil]
        ).fetchone()[0]
        reached = con.execute(
            "select * from audit.erasure_suppressions where subject_token = ?", [token]
        ).fetchall()
        reached += con.execute(
            "select * from audit.erasure_identifiers where subject_token = ?", [token]
        ).fetchall()
        for path in ledger:
            reached += con.execute(
                "select * from read_parquet(?) where subject_token = ?", [str(path), token]
            ).fetchall()
        run_ids = {row[-1] for row in reached}
        runs = con.execute(
            "select * from audit.retention_runs where run_id in (select unnest(?))",
            [sorted(run_ids)],
        ).fetchall()
        logs = con.execute(
            "select * from audit.retention_log where run_id in (select unnest(?))",
            [sorted(run_ids)],
        ).fetchall()
    finally:
        con.close()
    assert len(reached) >= 4  # the list row, the identifier rows, their ledger copies
    values = {str(v) for row in reached + runs + logs for v in row if v is not None}
    assert not values & kept_ids, "the list leads from the MIS id to the kept rows"
