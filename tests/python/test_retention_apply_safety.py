"""What a retention run must never do: change anything in a dry run, run for a future date or
without the secret, leave a half-done run after a crash or a kill, or touch a subject on legal
hold (also a hold placed after the plan was built).

Each test works on its own copy of the synthetic warehouse and compares every raw table with a
copy taken before the run.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinytracker import tasks
from tinytracker.core import secret, warehouse
from tinytracker.core.contract import FILES_BY_NAME, LANDING_FILES
from tinytracker.erasure import transaction
from tinytracker.erasure.result import action_date
from tinytracker.retention import holds

from apply_helpers import AS_OF, assert_raw_unchanged, changed_rows, snapshot
from conftest import read, run_cli


def test_plan_changes_nothing(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = tasks.apply_retention(AS_OF, dry_run=True, build=False)
    assert result.dry_run and result.steps, "the synthetic trust has work due on 2025-10-01"
    assert_raw_unchanged(before, wh)
    logged = read(
        wh, "select distinct is_dry_run from audit.retention_log where run_id = ?", [result.run_id]
    )
    assert logged == [(True,)]


def test_apply_refuses_an_as_of_after_today(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    tomorrow = action_date() + dt.timedelta(days=1)
    code, _, err = run_cli("retention", "apply", "--as-of", tomorrow.isoformat(), "--no-build")
    assert code != 0
    assert f"as_of {tomorrow} is after today" in err
    assert f"tinytracker retention plan --as-of {tomorrow}" in err
    with pytest.raises(Exception, match="after today"):
        tasks.apply_retention(tomorrow, dry_run=False, build=True)
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.retention_log") == [(0,)]  # refused first


def test_crash_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path, monkeypatch):
    before = snapshot(wh, tmp_path / "before.duckdb")

    def crash(statement_number: int) -> None:
        if statement_number == 4:
            raise RuntimeError("injected crash")

    monkeypatch.setattr(transaction, "after_statement", crash)
    with pytest.raises(RuntimeError, match="injected crash"):
        tasks.apply_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0
    assert read(wh, "select count(*) from audit.retention_log where not is_dry_run")[0][0] == 0


def test_process_killed_mid_run_leaves_the_warehouse_unchanged(wh: Path, tmp_path: Path):
    before = snapshot(wh, tmp_path / "before.duckdb")
    script = textwrap.dedent(
        """
        import os, signal
        from tinytracker import tasks
        from tinytracker.erasure import transaction
        from tinytracker.erasure.result import RunResult, action_date
        from tinytracker.erasure.ledger import ledger_dir
        from tinytracker.retention.output import format_result
        from tinytracker.erasure.transaction import DRY_RUN_SCHEMA
        def kill(statement_number):
            if statement_number == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        transaction.after_statement = kill
        tasks.apply_retention("2025-10-01", dry_run=False, build=False)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    assert_raw_unchanged(before, wh)
    assert read(wh, "select count(*) from audit.erasure_suppressions")[0][0] == 0


def test_held_subjects_are_not_touched(wh: Path, tmp_path: Path):
    org, pupil = read(
        wh,
        "select organisation_id, subject_id from retention.retention_plan "
        "where table_name = 'raw.pupils' order by 1, 2 limit 1",
    )[0]
    held_org = read(
        wh,
        "select distinct organisation_id from retention.retention_plan "
        "where organisation_id <> ? order by 1 limit 1",
        [org],
    )[0][0]
    con = warehouse.connect()
    holds.add_hold(
        con,
        organisation_id=org,
        subject_kind="pupil",
        subject_id=pupil,
        reason="complaint",
        placed_by="dpo",
    )
    holds.add_hold(
        con,
        organisation_id=held_org,
        subject_kind="organisation",
        subject_id=None,
        reason="litigation",
        placed_by="dpo",
    )
    con.close()
    before = snapshot(wh, tmp_path / "before.duckdb")
    result = tasks.apply_retention(AS_OF, dry_run=False, build=True)
    assert result.rows > 0
    assert read(
        wh,
        "select upn is not null from raw.pupils where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(True,)]
    for table in (f"raw.{f.name}" for f in LANDING_FILES):
        gone, _ = changed_rows(before, wh, table)
        key = FILES_BY_NAME[table.removeprefix("raw.")].column_names.index("organisation_id")
        assert not [row for row in gone if row[key] == held_org], f"{table} of held org changed"
    statuses = read(
        wh,
        "select status from retention.retention_status where organisation_id = ? "
        "and subject_id = ? and subject_kind = 'pupil'",
        [org, pupil],
    )
    assert ("on_hold",) in statuses and ("actioned",) not in statuses


def test_hold_placed_after_the_plan_was_built_is_kept_by_apply_no_build(wh: Path, tmp_path: Path):
    """`hold add` then `retention apply --no-build`: the plan still names the held subjects,
    but the apply re-reads the standing holds in its transaction and leaves them alone."""
    org, pupil = read(
        wh,
        """
        select p.organisation_id, p.subject_id from retention.retention_plan as p
        inner join raw.pupil_contacts as c
            on c.organisation_id = p.organisation_id and c.pupil_id = p.subject_id
        where p.table_name = 'raw.pupils' order by 1, 2 limit 1""",
    )[0]
    held_org = read(
        wh,
        "select distinct organisation_id from retention.retention_plan "
        "where organisation_id <> ? order by 1 limit 1",
        [org],
    )[0][0]
    assert (
        run_cli(
            "hold",
            "add",
            "--organisation",
            org,
            "--pupil",
            pupil,
            "--reason",
            "complaint",
            "--by",
            "dpo",
        )[0]
        == 0
    )
    assert (
        run_cli("hold", "add", "--organisation", held_org, "--reason", "litigation", "--by", "dpo")[
            0
        ]
        == 0
    )
    # what the holds cover, as the retention models would hold it: the whole organisation,
    # the pupil, its contacts and correspondence about the pupil or those contacts
    covered = read(
        wh,
        """
        select count(*) from (
            select distinct organisation_id, subject_kind, subject_id
            from retention.retention_plan as plan
            where organisation_id = $held_org
                or (organisation_id = $org and subject_kind = 'pupil' and subject_id = $pupil)
                or (organisation_id = $org and subject_kind = 'pupil_contact' and subject_id in (
                    select contact_id from raw.pupil_contacts
                    where organisation_id = $org and pupil_id = $pupil))
                or (organisation_id = $org and subject_kind = 'correspondence'
                    and subject_id in (
                        select correspondence_id from raw.correspondence
                        where organisation_id = $org and (
                            (subject_kind = 'pupil' and subject_id = $pupil)
                            or (subject_kind = 'contact' and subject_id in (
                                select contact_id from raw.pupil_contacts
                                where organisation_id = $org and pupil_id = $pupil))))))""",
        {"held_org": held_org, "org": org, "pupil": pupil},
    )[0][0]
    assert (
        read(
            wh,
            "select count(*) from retention.retention_plan where organisation_id = ? "
            "and subject_id = ?",
            [org, pupil],
        )[0][0]
        > 0
    ), "the plan predates the hold"
    before = snapshot(wh, tmp_path / "before.duckdb")
    code, out, err = run_cli("retention", "apply", "--as-of", AS_OF.isoformat(), "--no-build")
    assert code == 0, err
    assert f"{covered:,} planned subject(s) are under a standing legal hold and were skipped" in out
    assert read(
        wh, "select outcome, rows_affected > 0 from audit.retention_runs where not is_dry_run"
    ) == [("applied", True)]
    # nothing of the held pupil or its contacts changed, nothing of the held organisation
    assert read(
        wh,
        "select upn is not null, anonymised_on from raw.pupils "
        "where organisation_id = ? and pupil_id = ?",
        [org, pupil],
    ) == [(True, None)]
    for table in (f"raw.{f.name}" for f in LANDING_FILES):
        gone, _ = changed_rows(before, wh, table)
        columns = FILES_BY_NAME[table.removeprefix("raw.")].column_names
        rows = [dict(zip(columns, row)) for row in gone]
        assert not [r for r in rows if r["organisation_id"] == held_org], f"{table} of held org"
        assert not [
            r
            for r in rows
            if r["organisation_id"] == org and pupil in (r.get("pupil_id"), r.get("subject_id"))
        ], f"{table} of the held pupil changed"
    # the standing hold still names its pupil (it is not re-pointed at a surrogate)
    assert read(
        wh,
        "select organisation_id, subject_id from audit.legal_holds "
        "where subject_kind = 'pupil' and released_at is null",
    ) == [(org, pupil)]
    assert read(
        wh, "select count(*) from audit.erasure_suppressions where organisation_id = ?", [held_org]
    ) == [(0,)]


def test_apply_without_a_secret_refuses_before_changing_anything(
    wh: Path, tmp_path: Path, monkeypatch
):
    before = snapshot(wh, tmp_path / "before.duckdb")
    monkeypatch.delenv(secret.SECRET_ENV)
    with pytest.raises(Exception, match="TINYTRACKER_SECRET"):
        tasks.apply_retention(AS_OF, dry_run=False, build=False)
    assert_raw_unchanged(before, wh)
