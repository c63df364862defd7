"""Erasure on the controller's request: dry run, apply end to end (audit, physical erasure,
reload of the same extract), refusals (legal hold, unknown subject, a reason naming the
person), and contacts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate
from orchestration.cli import main
from orchestration.contract import LANDING_FILES
from orchestration.loader.run import load_extract
from orchestration.retention import holds

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
            con.execute(f"select count(*) from (select * from b.{t} except all "
                        f"select * from a.{t})").fetchone()[0] == 0
            and con.execute(f"select count(*) from (select * from a.{t} except all "
                            f"select * from b.{t})").fetchone()[0] == 0
            for t in RAW_TABLES
        )
    finally:
        con.close()


def pupil_with_contacts_and_correspondence(db: Path) -> tuple[str, str]:
    """A living pupil of an organisation without holds, with a contact, correspondence about
    them and about the contact, and attendance."""
    return read(db, """
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
    """)[0]


def erase(*args: str) -> int:
    return main(["erase", *args])


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    return synthetic_warehouse


def test_dry_run_shows_the_steps_and_changes_nothing(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON,
                 "--as-of", AS_OF) == 0
    out = capsys.readouterr().out
    marks = read(wh, "select count(*) from raw.attendance_sessions where organisation_id = ? "
                     "and pupil_id = ?", [org, pupil])[0][0]
    assert "(dry run)" in out and "add --apply to erase" in out
    assert f"raw.attendance_sessions  anonymise          1 {marks:>9,}" in out
    assert "erasure_request_correspondence" in out and "raw.pupil_contacts" in out
    assert raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.subject_requests")[0][0] == 0
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0
    assert read(wh, "select count(*) from audit.retention_runs")[0][0] == 0


def test_dry_run_lists_setup_imports_deleted_whole_unless_kept(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn = read(wh, "select upn from raw.pupils where organisation_id = ? and pupil_id = ?",
               [org, pupil])[0][0]
    imports = read(wh, "select import_id, count(*) from raw.setup_imports where "
                       "organisation_id = ? and json_extract_string(payload, '$.upn') = ? "
                       "group by 1", [org, upn])
    assert imports, "the chosen pupil should be named in a setup import"
    import_id, _ = imports[0]
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 0
    out = capsys.readouterr().out
    assert f"setup import {import_id}: would be deleted whole" in out
    assert "erasure_request_setup_import" in out
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON,
                 "--keep-setup-imports") == 0
    out = capsys.readouterr().out
    assert f"left as is: setup import {import_id}" in out
    assert "erasure_request_setup_import" not in out


def test_erasure_request_end_to_end_survives_a_reload(wh, synthetic_template: SyntheticTemplate,
                                                       tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    upn, forename, surname = read(wh, "select upn, forename, surname from raw.pupils "
                                      "where organisation_id = ? and pupil_id = ?",
                                  [org, pupil])[0]
    contacts = [c for (c,) in read(wh, "select contact_id from raw.pupil_contacts where "
                                       "organisation_id = ? and pupil_id = ?", [org, pupil])]
    about = [m for (m,) in read(
        wh, "select correspondence_id from raw.correspondence where organisation_id = ? and "
            "((subject_kind = 'pupil' and subject_id = ?) or (subject_kind = 'contact' and "
            "subject_id in (select unnest(?))))", [org, pupil, contacts])]
    marks = read(wh, "select count(*) from raw.attendance_sessions where organisation_id = ? "
                     "and pupil_id = ?", [org, pupil])[0][0]
    assert upn.encode() in wh.read_bytes()

    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON,
                 "--apply", "--as-of", AS_OF, "--by", "dpo") == 0
    out = capsys.readouterr().out
    assert "warehouse file rewritten" in out

    # the pupil is anonymised: no row keyed by the MIS id, identifiers gone, marks kept
    for table in ("raw.pupils", "raw.attendance_sessions", "raw.assessments",
                  "raw.sen_records", "raw.reports", "raw.pupil_contacts"):
        assert read(wh, f"select count(*) from {table} where organisation_id = ? "
                        "and pupil_id = ?", [org, pupil])[0][0] == 0, table
    surrogate, rule = read(wh, "select surrogate_id, rule_id from audit.erasure_suppressions "
                               "where subject_kind = 'pupil'")[0]
    assert rule == "erasure_request"
    assert read(wh, "select upn, forename, anonymised_by_rule_id from raw.pupils where "
                    "organisation_id = ? and pupil_id = ?", [org, surrogate]) == [
        (None, None, "erasure_request")]
    assert read(wh, "select count(*) from raw.attendance_sessions where organisation_id = ? "
                    "and pupil_id = ?", [org, surrogate])[0][0] == marks
    assert read(wh, "select count(*) from raw.correspondence where organisation_id = ? "
                    "and correspondence_id in (select unnest(?))", [org, about])[0][0] == 0
    assert read(wh, "select count(*) from audit.erasure_suppressions where subject_kind = "
                    "'correspondence'")[0][0] == len(about)
    assert read(wh, "select count(*) from audit.erasure_suppressions where subject_kind = "
                    "'pupil_contact'")[0][0] == len(contacts)
    # same audit trail as a scheduled run, and the request is logged without the person
    run_id, requested_by, physically = read(
        wh, "select run_id, requested_by, physically_erased_at is not null "
            "from audit.retention_runs where not is_dry_run")[0]
    assert requested_by == "erasure_request" and physically
    request = read(wh, "select request_kind, subject_kind, status, run_id, reason, handled_by "
                       "from audit.subject_requests")
    assert request == [("erasure", "pupil", "completed", run_id, REASON, "dpo")]
    logged = {str(v) for table in ("subject_requests", "retention_log", "retention_runs",
                                   "erasure_suppressions")
              for row in read(wh, f"select * from audit.{table}") for v in row}
    assert not logged & {pupil, upn, forename, surname, *contacts}
    assert read(wh, "select status from retention.retention_status where organisation_id = ? "
                    "and subject_kind = 'pupil' and subject_id = ? and is_winning_rule",
                [org, surrogate]) == [("actioned",)]
    # setup imports naming the pupil are gone (whole), and no erased value is left in the
    # file's bytes
    assert read(wh, "select count(*) from raw.setup_imports where organisation_id = ? and "
                    "json_extract_string(payload, '$.upn') = ?", [org, upn])[0][0] == 0
    assert upn.encode() not in wh.read_bytes()

    # a reload of the same extract brings nothing back
    result = load_extract(synthetic_template.extract)
    assert result.total("suppressed") >= marks + 1
    assert result.total("inserted") == result.total("updated") == 0
    assert read(wh, "select count(*) from raw.pupils where organisation_id = ? "
                    "and pupil_id = ?", [org, pupil])[0][0] == 0
    assert read(wh, "select count(*) from raw.pupil_contacts where organisation_id = ? "
                    "and contact_id in (select unnest(?))", [org, contacts])[0][0] == 0
    assert read(wh, "select count(*) from raw.correspondence where organisation_id = ? "
                    "and correspondence_id in (select unnest(?))", [org, about])[0][0] == 0

    # asking again: the person is no longer held, and the answer says so
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 2
    assert "was erased on" in capsys.readouterr().err
    assert main(["sar", "pupil", "--organisation", org, "--id", pupil,
                 "--out", str(tmp_path / "sar")]) == 2
    assert "was erased on" in capsys.readouterr().err
    assert not (tmp_path / "sar").exists()


@pytest.mark.parametrize("scope", ["pupil", "organisation"])
def test_erasure_of_a_subject_on_legal_hold_is_refused(wh, tmp_path, capsys, scope):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    con = duckdb.connect(str(wh))
    hold = holds.add_hold(con, org, "complaint under investigation",
                          subject_kind="pupil" if scope == "pupil" else "organisation",
                          subject_id=pupil if scope == "pupil" else None, placed_by="dpo")
    con.close()
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON,
                 "--apply", "--as-of", AS_OF) == 3
    err = capsys.readouterr().err
    assert f"is on legal hold ({hold.hold_id})" in err and "nothing was erased" in err
    assert raw_unchanged(before, wh)
    assert read(wh, "select status, run_id from audit.subject_requests") == [
        ("refused_legal_hold", None)]
    # the pupil's contact is held by the pupil's hold too
    contact = read(wh, "select contact_id from raw.pupil_contacts where organisation_id = ? "
                       "and pupil_id = ? limit 1", [org, pupil])[0][0]
    assert erase("contact", "--organisation", org, "--id", contact, "--reason", REASON) == 3


def test_unknown_subject_and_reason_naming_the_person_are_refused(wh, tmp_path, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    before = tmp_path / "before.duckdb"
    shutil.copy(wh, before)
    assert erase("pupil", "--organisation", org, "--id", "P-NOBODY", "--reason", REASON,
                 "--apply") == 2
    assert "unknown pupil 'P-NOBODY'" in capsys.readouterr().err
    surname, contact_forename = read(
        wh, "select p.surname, c.forename from raw.pupils as p inner join raw.pupil_contacts "
            "as c using (organisation_id, pupil_id) where p.organisation_id = ? "
            "and p.pupil_id = ? limit 1", [org, pupil])[0]
    for reason, what in ((f"the {surname} family asked", "surname"),
                         (f"request by {contact_forename} (parent)", "contact forename"),
                         (f"pupil {pupil} left", "MIS id")):
        assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", reason,
                     "--apply", "--as-of", AS_OF) == 2
        err = capsys.readouterr().err
        assert f"the reason contains the pupil's {what}" in err
        assert surname not in err and contact_forename not in err
    assert raw_unchanged(before, wh)
    assert read(wh, "select status from audit.subject_requests") == [("unknown_subject",)]


def test_contact_erasure_deletes_the_contact_and_correspondence_about_them(wh, capsys):
    org, contact, pupil = read(wh, """
        select c.organisation_id, c.contact_id, c.pupil_id from raw.pupil_contacts as c
        inner join raw.correspondence as m on m.organisation_id = c.organisation_id
            and m.subject_kind = 'contact' and m.subject_id = c.contact_id
        order by all limit 1""")[0]
    assert erase("contact", "--organisation", org, "--id", contact, "--reason", REASON,
                 "--apply", "--as-of", AS_OF) == 0
    assert "contact " + contact in capsys.readouterr().out
    assert read(wh, "select count(*) from raw.pupil_contacts where organisation_id = ? "
                    "and contact_id = ?", [org, contact])[0][0] == 0
    assert read(wh, "select count(*) from raw.correspondence where organisation_id = ? "
                    "and subject_kind = 'contact' and subject_id = ?",
                [org, contact])[0][0] == 0
    assert read(wh, "select count(*) from raw.pupils where organisation_id = ? "
                    "and pupil_id = ? and upn is not null", [org, pupil])[0][0] == 1
    assert read(wh, "select subject_kind from audit.erasure_suppressions order by 1") == [
        ("correspondence",), ("pupil_contact",)]


def test_a_setup_import_that_also_names_someone_on_hold_is_kept(wh, capsys):
    org, pupil = pupil_with_contacts_and_correspondence(wh)
    import_id, held_pupil = read(wh, """
        select i.import_id, other.pupil_id
        from raw.setup_imports as i
        inner join raw.pupils as p on p.organisation_id = i.organisation_id
            and json_extract_string(i.payload, '$.upn') = p.upn
        inner join raw.setup_imports as i2 on i2.organisation_id = i.organisation_id
            and i2.import_id = i.import_id
        inner join raw.pupils as other on other.organisation_id = i.organisation_id
            and json_extract_string(i2.payload, '$.upn') = other.upn
        where p.organisation_id = ? and p.pupil_id = ? and other.pupil_id <> p.pupil_id
        order by all limit 1""", [org, pupil])[0]
    con = duckdb.connect(str(wh))
    holds.add_hold(con, org, "complaint about another pupil", subject_kind="pupil",
                   subject_id=held_pupil, placed_by="dpo")
    con.close()
    assert erase("pupil", "--organisation", org, "--id", pupil, "--reason", REASON) == 0
    out = capsys.readouterr().out
    assert f"left as is: setup import {import_id}" in out
    assert "it also names someone on legal hold" in out
    assert "erasure_request_setup_import" not in out
