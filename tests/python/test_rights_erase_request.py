"""Erasure on the controller's request: the dry run, the refusals (legal hold, unknown subject,
a reason naming the person), a contact's erasure, and a suppression list that links nothing
back to the anonymised pupil.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tinytracker.core import secret
from tinytracker.retention import holds

from conftest import read
from erase_helpers import (
    AS_OF,
    REASON,
    erase,
    erase_pupil_now,
    pupil_with_contacts_and_correspondence,
    raw_unchanged,
)


def test_dry_run_shows_the_steps_and_changes_nothing(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase("--organisation", org, "--pupil", pupil, "--reason", REASON, "--as-of", AS_OF) == 0
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


@pytest.mark.parametrize("scope", ["pupil", "organisation"])
def test_erasure_of_a_subject_on_legal_hold_is_refused(wh, tmp_path, capsys, scope):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    con = duckdb.connect(str(wh))
    hold = holds.add_hold(
        con,
        org,
        "complaint",
        subject_kind="pupil" if scope == "pupil" else "organisation",
        subject_id=pupil if scope == "pupil" else None,
        placed_by="dpo",
    )
    con.close()
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase_pupil_now(org, pupil, "--as-of", AS_OF) == 3
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
    assert erase("--organisation", org, "--contact", contact, "--reason", REASON) == 3


def test_unknown_subject_free_text_and_a_ticket_naming_the_person_are_refused(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase("--organisation", org, "--pupil", "P-NOBODY", "--reason", REASON, "--apply") == 3
    assert "unknown pupil 'P-NOBODY'" in capsys.readouterr().err
    surname, contact_forename = read(
        wh,
        "select p.surname, c.forename from raw.pupils as p inner join raw.pupil_contacts "
        "as c using (organisation_id, pupil_id) where p.organisation_id = ? "
        "and p.pupil_id = ? limit 1",
        [org, pupil],
    )[0]
    # free text is refused whatever it says: it could name the person in the audit trail
    for reason in (f"the {surname} family asked", "family moved away from 53 Conor Gardens"):
        code = erase("--organisation", org, "--pupil", pupil, "--reason", reason,
                     "--apply", "--as-of", AS_OF)  # fmt: skip
        assert code == 2
        err = capsys.readouterr().err
        assert "Free text is refused" in err and surname not in err
    # a case reference that holds the person's identifiers is refused, naming what (not the value)
    for ticket, what in ((contact_forename, "contact forename"), (pupil, "MIS id")):
        code = erase("--organisation", org, "--pupil", pupil, "--reason", REASON,
                     "--ticket", ticket, "--apply", "--as-of", AS_OF)  # fmt: skip
        assert code == 3  # refused by policy: the audit trail must not identify anyone
        err = capsys.readouterr().err
        assert f"the ticket contains the pupil's {what}" in err
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
            "--organisation",
            org,
            "--contact",
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


def test_no_row_of_the_suppression_list_or_ledger_leads_to_the_anonymised_pupil(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    assert erase_pupil_now(org, pupil, "--as-of", AS_OF) == 0
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
