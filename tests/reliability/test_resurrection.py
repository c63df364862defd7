"""Erased stays erased when the same people come back another way.

A school that moves MIS sends its pupils again under new internal ids: the UPN, names and
dates stay. Each test erases someone, then loads an extract that sends them again in one of the
ways a real extract does, and checks that nothing about them is stored again: not in their
table, not under the new id in any other table, not in the quarantine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytracker import tasks
from tinytracker.loading.run import load_extract

from helpers import copy_extract, read, read_csv, run_cli, write_csv

REASON = "controller_request"


def erasable_pupil(db: Path) -> dict[str, str]:
    """A living pupil with a UPN, attendance, a contact with an email or phone, and no hold."""
    org, pupil = read(
        db,
        """
        select p.organisation_id, p.pupil_id from raw.pupils as p
        where p.anonymised_on is null and p.upn is not null
            and exists (select 1 from raw.attendance_sessions as a
                        where a.organisation_id = p.organisation_id and a.pupil_id = p.pupil_id)
            and exists (select 1 from raw.pupil_contacts as c
                        where c.organisation_id = p.organisation_id and c.pupil_id = p.pupil_id
                            and (c.email is not null or c.phone is not null))
            and not exists (select 1 from audit.legal_holds as h
                            where h.organisation_id = p.organisation_id
                                and h.released_at is null)
            and not exists (select 1 from retention.retention_plan as plan
                            where plan.organisation_id = p.organisation_id
                                and plan.subject_id = p.pupil_id)
        order by all limit 1
        """,
    )[0]
    return {"organisation_id": str(org), "pupil_id": str(pupil)}


def migrate(
    extract: Path,
    target: Path,
    org: str,
    pupil: str,
    *,
    upn: str | None = "spaced",
    bad_gender: bool = False,
) -> tuple[Path, str, dict[str, str]]:
    """The extract as a new MIS sends it for one pupil: a new pupil id (and new contact ids);
    the UPN lower-case with spaces (``upn='spaced'``), blank (``None``) or as it was."""
    copy_extract(extract, target)
    new_id = f"NEW{pupil}"
    columns, pupils = read_csv(target / "pupils.csv")
    person: dict[str, str] = {}
    for row in pupils:
        if row["organisation_id"] == org and row["pupil_id"] == pupil:
            person = dict(row)
            row["pupil_id"] = new_id
            if upn is None:
                row["upn"] = ""
            elif upn == "spaced":
                row["upn"] = " ".join([row["upn"][:5], row["upn"][5:9], row["upn"][9:]]).lower()
            if bad_gender:
                row["gender"] = "not-a-code"
    assert person, "the pupil is in the extract"
    write_csv(target / "pupils.csv", columns, pupils)
    for name, key in (("attendance_sessions", None), ("pupil_contacts", "contact_id")):
        columns, rows = read_csv(target / f"{name}.csv")
        for row in rows:
            if row["organisation_id"] == org and row["pupil_id"] == pupil:
                row["pupil_id"] = new_id
                if key:
                    row[key] = f"NEW{row[key]}"
        write_csv(target / f"{name}.csv", columns, rows)
    return target, new_id, person


def nothing_about(db: Path, org: str, new_id: str, person: dict[str, str]) -> None:
    """No row names the person again: their table, the new id anywhere, the quarantine."""
    assert read(
        db,
        "select count(*) from raw.pupils where organisation_id = ? and "
        "(pupil_id = ? or upper(replace(upn, ' ', '')) = ? or "
        "(lower(forename) = lower(?) and lower(surname) = lower(?)))",
        [org, new_id, person["upn"], person["forename"], person["surname"]],
    ) == [(0,)]
    for table in ("attendance_sessions", "pupil_contacts", "assessments", "sen_records"):
        assert read(
            db,
            f"select count(*) from raw.{table} where organisation_id = ? and pupil_id = ?",
            [org, new_id],
        ) == [(0,)], table
    quarantined = read(
        db,
        "select count(*) from raw.quarantine where organisation_id = ? and "
        "(raw_values::varchar ilike ? or raw_values::varchar ilike ?)",
        [org, f"%{new_id}%", f"%{person['surname']}%{person['date_of_birth']}%"],
    )
    assert quarantined == [(0,)]


@pytest.mark.long
@pytest.mark.parametrize("upn", ["spaced", None], ids=["upn_case_and_spacing", "no_upn"])
def test_a_pupil_erased_on_request_and_resent_by_a_new_mis_stays_erased(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path, upn: str | None
) -> None:
    db = synthetic_warehouse
    pupil = erasable_pupil(db)
    org = pupil["organisation_id"]
    tasks.erase("pupil", org, pupil["pupil_id"], REASON, apply_changes=True)
    listed = read(db, "select count(*) from audit.erasure_suppressions")[0][0]

    extract, new_id, person = migrate(
        synthetic_template.extract, tmp_path / "migrated", org, pupil["pupil_id"], upn=upn
    )
    result = load_extract(extract)

    pupils = next(f for f in result.files if f.landing_file == "pupils")
    assert pupils.suppressed >= 1
    nothing_about(db, org, new_id, person)
    # the new id is listed as the erased person, so the next load drops it by id alone
    assert read(db, "select count(*) from audit.erasure_suppressions")[0][0] > listed
    again = load_extract(extract)
    assert sum(f.inserted + f.updated for f in again.files) == 0
    nothing_about(db, org, new_id, person)


@pytest.mark.long
def test_a_pupil_resent_with_a_new_id_and_a_bad_value_is_dropped_not_quarantined(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    db = synthetic_warehouse
    pupil = erasable_pupil(db)
    org = pupil["organisation_id"]
    tasks.erase("pupil", org, pupil["pupil_id"], REASON, apply_changes=True)
    quarantined_before = read(db, "select count(*) from raw.quarantine")[0][0]

    extract, new_id, person = migrate(
        synthetic_template.extract,
        tmp_path / "migrated",
        org,
        pupil["pupil_id"],
        bad_gender=True,
    )
    load_extract(extract)

    nothing_about(db, org, new_id, person)
    assert read(db, "select count(*) from raw.quarantine")[0][0] == quarantined_before


@pytest.mark.long
def test_pupils_anonymised_by_the_schedule_and_resent_by_a_new_mis_stay_anonymous(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    db = synthetic_warehouse
    planned = read(
        db,
        """
        select p.organisation_id, p.pupil_id, p.upn from retention.retention_plan as plan
        inner join raw.pupils as p
            on p.organisation_id = plan.organisation_id and p.pupil_id = plan.subject_id
        where plan.table_name = 'raw.pupils' and p.upn is not null
        order by all limit 5
        """,
    )
    assert planned
    tasks.apply_retention(synthetic_template.as_of, dry_run=False, build=False)

    extract = copy_extract(synthetic_template.extract, tmp_path / "migrated")
    columns, pupils = read_csv(extract / "pupils.csv")
    chosen = {(str(org), str(pupil)) for org, pupil, _ in planned}
    for row in pupils:
        if (row["organisation_id"], row["pupil_id"]) in chosen:
            row["pupil_id"] = f"NEW{row['pupil_id']}"
    write_csv(extract / "pupils.csv", columns, pupils)
    load_extract(extract)

    upns = [str(upn) for _, _, upn in planned]
    assert read(db, "select count(*) from raw.pupils where upn in (select unnest(?))", [upns]) == [
        (0,)
    ]
    assert read(db, "select count(*) from raw.pupils where pupil_id like 'NEW%'") == [(0,)]


@pytest.mark.long
def test_reloading_the_extract_after_a_retention_run_changes_nothing(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    """Correspondence about a contact deleted with their pupil used to land in the quarantine
    (orphan_subject) on every reload, with all its values: now the contact is listed too."""
    db = synthetic_warehouse
    tasks.apply_retention(synthetic_template.as_of, dry_run=False, build=False)
    quarantine = read(db, "select count(*) from raw.quarantine")

    result = load_extract(synthetic_template.extract)

    assert sum(f.inserted + f.updated for f in result.files) == 0
    assert read(db, "select count(*) from raw.quarantine") == quarantine


@pytest.mark.long
def test_an_erased_pupil_restored_from_a_backup_and_reloaded_stays_erased(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    db = synthetic_warehouse
    pupil = erasable_pupil(db)
    org = pupil["organisation_id"]
    result = run_cli("backup", "create", "--as-of", "2025-09-30")
    assert result.returncode == 0, result.stderr
    tasks.erase("pupil", org, pupil["pupil_id"], REASON, apply_changes=True)
    restored = run_cli("backup", "restore", "--taken-on", "2025-09-30")
    assert restored.returncode == 0, restored.stderr

    extract, new_id, person = migrate(
        synthetic_template.extract, tmp_path / "migrated", org, pupil["pupil_id"]
    )
    load_extract(synthetic_template.extract)
    load_extract(extract)

    nothing_about(db, org, new_id, person)
    assert read(
        db,
        "select count(*) from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil["pupil_id"]],
    ) == [(0,)]


def test_every_way_back_of_an_erased_pupil_is_closed(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    """The short form (make test): in one warehouse, a pupil erased on request and pupils
    anonymised by the schedule come back under new MIS ids (UPN spaced and lower-case, no
    UPN, a bad value), and the unchanged extract is loaded again after the run."""
    db = synthetic_warehouse
    as_of = synthetic_template.as_of
    requested = erasable_pupil(db)
    org = requested["organisation_id"]
    scheduled = read(
        db,
        """
        select p.organisation_id, p.pupil_id from retention.retention_plan as plan
        inner join raw.pupils as p
            on p.organisation_id = plan.organisation_id and p.pupil_id = plan.subject_id
        where plan.table_name = 'raw.pupils' and p.upn is not null order by all limit 2
        """,
    )
    tasks.apply_retention(as_of, dry_run=False, build=False)
    tasks.erase("pupil", org, requested["pupil_id"], REASON, apply_changes=True)
    quarantine = read(db, "select count(*) from raw.quarantine")

    again = load_extract(synthetic_template.extract)
    assert sum(f.inserted + f.updated for f in again.files) == 0
    assert read(db, "select count(*) from raw.quarantine") == quarantine

    extract, new_id, person = migrate(
        synthetic_template.extract, tmp_path / "m1", org, requested["pupil_id"], bad_gender=True
    )
    load_extract(extract)
    nothing_about(db, org, new_id, person)
    for (s_org, s_pupil), upn in zip(scheduled, ("spaced", None), strict=True):
        extract, new_id, person = migrate(
            synthetic_template.extract, tmp_path / f"m-{upn}", str(s_org), str(s_pupil), upn=upn
        )
        load_extract(extract)
        nothing_about(db, str(s_org), new_id, person)
    assert read(db, "select count(*) from raw.quarantine") == quarantine
