"""Erasure of a pupil applied end to end (audit, physical erasure), then a reload of the same
extract and of a newer one: nothing about the erased pupil comes back.
"""

from __future__ import annotations

from tinytracker.cli.main import main
from tinytracker.loading.run import load_extract

from conftest import SyntheticTemplate, read
from erase_helpers import (
    AS_OF,
    REASON,
    erase,
    erase_pupil_now,
    letter,
    pupil_with_contacts_and_correspondence,
    setup_row,
    write_extract,
)


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
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--reason",
            REASON,
            "--apply",
            "--as-of",
            AS_OF,
            "--by",
            "dpo",
            "--rewrite-now",
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
    assert erase("--organisation", org, "--pupil", pupil, "--reason", REASON) == 3
    assert "was erased on" in capsys.readouterr().err
    assert (
        main(["sar", "--organisation", org, "--pupil", pupil, "--out", str(tmp_path / "sar")]) == 3
    )
    assert "was erased on" in capsys.readouterr().err
    assert not (tmp_path / "sar").exists()


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
    assert erase_pupil_now(org, pupil, "--as-of", AS_OF) == 0
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
    assert erase("--organisation", org, "--pupil", pupil, "--reason", REASON) == 3
    assert "no longer holds data that identifies them" in capsys.readouterr().err
