"""Restoring a backup re-applies every erasure made after it was taken (nobody comes back)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb

from tinytracker import tasks
from tinytracker.backup import snapshots
from tinytracker.erasure import replay as replay_module
from tinytracker.erasure.ledger import ledger_dir

AS_OF = dt.date(2025, 10, 1)
SNAPSHOT_DAY = dt.date(2025, 9, 30)


def read(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def planned_subjects(db: Path) -> set[tuple]:
    return set(
        read(
            db,
            "select distinct organisation_id, subject_kind, subject_id "
            "from retention.retention_plan",
        )
    )


def live_subjects(db: Path) -> set[tuple]:
    return set(
        read(
            db,
            """
        select organisation_id, 'pupil', pupil_id from raw.pupils
        union all select organisation_id, 'employee', employee_id from raw.employees
        union all select organisation_id, 'pupil_contact', contact_id from raw.pupil_contacts
        union all select organisation_id, 'correspondence', correspondence_id
            from raw.correspondence
        union all select organisation_id, 'setup_import', import_id from raw.setup_imports
    """,
        )
    )


def test_restore_re_applies_erasures_made_after_the_snapshot(synthetic_warehouse: Path):
    db = synthetic_warehouse
    erased = planned_subjects(db)
    assert erased and erased <= live_subjects(db)
    snapshots.snapshot(SNAPSHOT_DAY)
    applied = tasks.apply_retention(AS_OF, dry_run=False, build=False)
    anonymised_after_apply = read(
        db, "select count(*) from raw.pupils where anonymised_on is not null"
    )

    result = tasks.restore_backup(SNAPSHOT_DAY, today=AS_OF)

    assert result.replay.subjects > 0
    assert not erased & live_subjects(db), "a restore brought an erased subject back"
    assert (
        read(db, "select count(*) from raw.pupils where anonymised_on is not null")
        == anonymised_after_apply
    )
    # replayed by token alone: fresh surrogates, and still nothing on the list leads to them
    assert read(
        db,
        "select count(*) from raw.pupils p join audit.erasure_suppressions s "
        "on p.pupil_id = s.surrogate_id and p.organisation_id = s.organisation_id",
    ) == [(0,)]
    assert read(
        db, f"select count(*) from audit.retention_runs where run_id = '{applied.run_id}'"
    ) == [(1,)]
    assert read(db, "select count(*) from retention.retention_status where status = 'due'") == [
        (0,)
    ]
    # the replay is a run of its own, marked so nobody counts it as a new erasure
    assert read(
        db,
        "select requested_by, outcome from audit.retention_runs "
        f"where run_id = '{result.replay.run_id}'",
    ) == [("restore_replay", "applied")]
    assert read(
        db,
        "select count(*) from audit.retention_runs where not is_dry_run "
        "and outcome = 'applied' and requested_by <> 'restore_replay'",
    ) == [(1,)]


def test_no_other_process_can_write_the_warehouse_while_a_restore_replaces_it(
    synthetic_warehouse: Path, monkeypatch
):
    """A hold placed by another process in the middle of a restore must not land in the file
    about to be replaced (and so be lost): the restore holds the warehouse's lock from the
    carry-over of the audit trail until the restored file is in place."""
    db = synthetic_warehouse
    snapshots.snapshot(SNAPSHOT_DAY)
    attempts: list[subprocess.CompletedProcess] = []
    replay_step = replay_module._record_kept_authors

    def another_writer_tries_meanwhile(con):
        attempts.append(
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import duckdb, sys; duckdb.connect(sys.argv[1]).execute("
                    "'create table if not exists audit.written_meanwhile (i int)')",
                    str(db),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        )
        return replay_step(con)

    monkeypatch.setattr(replay_module, "_record_kept_authors", another_writer_tries_meanwhile)
    tasks.restore_backup(SNAPSHOT_DAY, today=AS_OF)
    (attempt,) = attempts
    assert attempt.returncode != 0 and "lock" in attempt.stderr.lower(), attempt.stderr
    assert read(
        db, "select count(*) from duckdb_tables() where table_name = 'written_meanwhile'"
    ) == [(0,)]


def test_restore_after_losing_the_warehouse_uses_the_erasure_ledger(synthetic_warehouse: Path):
    db = synthetic_warehouse
    erased = planned_subjects(db)
    snapshots.snapshot(SNAPSHOT_DAY)
    tasks.apply_retention(AS_OF, dry_run=False, build=False)
    assert list(ledger_dir().glob("*.erasure_suppressions.parquet"))
    db.unlink()  # the live file is gone: only the backup and the ledger remain

    result = tasks.restore_backup(SNAPSHOT_DAY, today=AS_OF)

    assert result.carried_over.get("erasure_suppressions", 0) > 0
    assert not erased & live_subjects(db)


def test_restore_of_a_missing_date_names_the_available_backups(synthetic_warehouse: Path):
    snapshots.snapshot(SNAPSHOT_DAY)
    try:
        tasks.restore_backup(dt.date(2020, 1, 1))
    except Exception as exc:
        assert "2025-09-30" in str(exc) and "2020-01-01" in str(exc)
    else:
        raise AssertionError("restoring a date with no backup must fail")


def test_restore_keeps_permission_revoked_and_requests_made_after_the_snapshot(
    synthetic_warehouse: Path,
):
    from tinytracker.core import warehouse
    from tinytracker.loading.organisations import request_anonymisation, set_mis_permission

    snapshots.snapshot(SNAPSHOT_DAY)
    con = warehouse.connect()
    set_mis_permission(con, "ORG001", granted=False)
    request_anonymisation(con, "ORG003", dt.date(2025, 9, 15))
    con.close()

    result = tasks.restore_backup(SNAPSHOT_DAY, today=AS_OF)

    assert result.carried_over["organisations"] == 2
    assert read(
        synthetic_warehouse,
        "select organisation_id, mis_permission, "
        "anonymise_requested_on from raw.organisations "
        "where organisation_id in ('ORG001', 'ORG003') order by 1",
    ) == [("ORG001", "revoked", None), ("ORG003", "granted", dt.date(2025, 9, 15))]
    assert read(synthetic_warehouse, "select count(*) from audit.organisation_changes") == [(2,)]


def test_restore_replays_erasure_requests_row_by_row_and_keeps_an_authors_map(
    synthetic_warehouse: Path, tmp_path: Path
):
    import json

    from tinytracker.cli.main import main

    db = synthetic_warehouse
    org, pupil, upn = read(
        db,
        """
        select p.organisation_id, p.pupil_id, p.upn from raw.pupils as p
        inner join raw.setup_imports as i on i.organisation_id = p.organisation_id
            and json_extract_string(i.payload, '$.upn') = p.upn
        where p.anonymised_on is null order by all limit 1""",
    )[0]
    employee, authored = read(
        db,
        f"""
        select author_employee_id, count(*) from raw.reports
        where organisation_id = '{org}' and author_employee_id is not null
        group by 1 order by 2 desc, 1 limit 1""",
    )[0]
    con = duckdb.connect(str(db))
    con.execute(
        "insert into raw.quarantine values ('L1', 'pupils.csv', 7, 'bad_upn', 'test', "
        "?, ?, timestamp '2025-09-01 08:00')",
        [org, json.dumps({"organisation_id": org, "pupil_id": "P-TYPO", "upn": upn})],
    )
    con.close()
    setup_rows = read(db, f"select count(*) from raw.setup_imports where organisation_id = '{org}'")
    snapshots.snapshot(SNAPSHOT_DAY)
    reason = "controller_request"
    for kind, subject in (("pupil", pupil), ("employee", employee)):
        assert (
            main(
                [
                    "erase",
                    "--organisation",
                    org,
                    f"--{kind}",
                    subject,
                    "--reason",
                    reason,
                    "--apply",
                    "--as-of",
                    AS_OF.isoformat(),
                ]
            )
            == 0
        )

    tasks.restore_backup(SNAPSHOT_DAY, today=AS_OF)

    assert read(
        db,
        f"select count(*) from raw.pupils where organisation_id = '{org}' and pupil_id = '{pupil}'",
    ) == [(0,)]
    assert read(
        db,
        f"select count(*) from raw.setup_imports where organisation_id = '{org}' "
        f"and json_extract_string(payload, '$.upn') = '{upn}'",
    ) == [(0,)]
    assert (
        read(db, f"select count(*) + 1 from raw.setup_imports where organisation_id = '{org}'")
        == setup_rows
    )  # only the pupil's row
    assert read(
        db, "select count(*) from raw.quarantine where raw_values->>'pupil_id' = 'P-TYPO'"
    ) == [(0,)]
    # the author was anonymised again under a fresh surrogate, and the list points at it
    (kept,) = read(
        db,
        "select s.surrogate_id from audit.erasure_suppressions as s "
        "where s.subject_kind = 'employee'",
    )
    assert kept[0] is not None
    assert read(
        db,
        f"select count(*) from raw.reports where organisation_id = '{org}' "
        f"and author_employee_id = '{kept[0]}'",
    ) == [(authored,)]
    assert read(
        db,
        f"select forename is not null from raw.employees "
        f"where organisation_id = '{org}' and employee_id = '{kept[0]}'",
    ) == [(True,)]
    assert (
        main(
            [
                "sar",
                "--organisation",
                org,
                "--employee",
                employee,
                "--out",
                str(tmp_path / "sar"),
            ]
        )
        == 0
    )
