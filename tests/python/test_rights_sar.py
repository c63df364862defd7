"""Subject Access Requests on the synthetic trust: a pupil's bundle is complete, about them only,
and its HTML says in plain words what is held and when it goes.

Completeness is checked table by table against an independent query of what is about the
person, after adding hand-made rows the generator never makes (quarantined rows naming the
pupil, a setup-import row written differently, a legal hold) and decoys about other people
that must stay out.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb

from tinytracker.retention import holds

from conftest import read
from sar_helpers import pupil_with_rows_everywhere, run_sar, strings

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
            "complaint",
            subject_kind="pupil",
            subject_id=pupil,
            placed_by="dpo",
        )
        holds.add_hold(con, org, "litigation", placed_by="dpo")
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


def test_sar_holds_every_row_about_the_pupil_and_nothing_about_anyone_else(wh, tmp_path, capsys):
    org, pupil = pupil_with_rows_everywhere(wh)
    made = add_hand_made_rows(wh, org, pupil)
    out = tmp_path / "bundle"
    assert run_sar("--organisation", org, "--pupil", pupil, "--out", str(out)) == 0
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
    assert [r["reason"] for r in rows("audit.legal_holds")] == ["complaint"]
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
    assert run_sar("--organisation", org, "--pupil", pupil, "--out", str(out)) == 0
    data = json.loads((out / "sar.json").read_text())
    page = (out / "sar.html").read_text()
    assert data["request_id"] in page
    assert "Personal details" in page and "What the warehouse holds" in page
    assert "is to be deleted on" in page or "is kept" in page
    assert "backups keep a copy until" in page
    for name, section in data["sections"].items():
        assert f"{name}: {section['row_count']} row(s)" in page.replace("&#x27;", "'")


def test_sar_html_shows_labels_code_meanings_and_dates_for_a_parent(wh, tmp_path):
    """A parent reads fields under plain labels, codes with their meaning, dates written out;
    the warehouse's bookkeeping columns stay in sar.json only."""
    import re

    from tinytracker.rights.sar_labels import code_meanings

    org, pupil = pupil_with_rows_everywhere(wh)
    out = tmp_path / "bundle"
    assert run_sar("--organisation", org, "--pupil", pupil, "--out", str(out)) == 0
    data = json.loads((out / "sar.json").read_text())
    page = (out / "sar.html").read_text().replace("&#x27;", "'")
    pupils = data["sections"]["raw.pupils"]
    record = dict(zip(pupils["columns"], pupils["rows"][0]))
    assert "_load_id" in record and "_extra" in record  # the controller keeps everything
    assert "_load_id" not in page and "_loaded_at" not in page and "_extra" not in page
    assert "<td>Date of birth</td>" in page and "<td>date_of_birth</td>" not in page
    born = dt.date.fromisoformat(record["date_of_birth"])
    assert f"{born.day} {born:%B %Y}" in page
    if record.get("ethnicity"):
        meaning = code_meanings()["ethnicity"][record["ethnicity"]]
        assert f"{record['ethnicity']} ({meaning})" in page
    assert not re.search(r"<td>(True|False)</td>", page), "booleans read yes/no"
    assert not re.search(r"\d{4}-\d{2}-\d{2}</td>", page.split("<h2>What the warehouse")[1])
