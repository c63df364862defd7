"""Killed at any step boundary, a command leaves the warehouse as before or as after, and the
next run of it finishes the job with no erased value left in any file.

Each case runs a command in its own process with ``TINYTRACKER_FAULT=<point>``: the process
kills itself with SIGKILL at that point (``tinytracker/core/faults.py``), exactly like
``kill -9``. Then the same command runs again, unharmed, and the end state is compared with a
clean run on a copy of the same warehouse: the same live subjects, the same counts, every
applied run physically finished, no leftover file beside the warehouse or the backups, and no
value of an erased person in the bytes of any file the project writes.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tinytracker.core.errors import FailedError
from tinytracker.core.faults import FAULT_ENV

from helpers import LONG, read, run_cli

APPLY_POINTS = [
    "erasure.statement:2",
    "erasure.before_commit",
    "erasure.committed",
    "finish.rebuilt",
    "finish.published",
    "rebuild.copied",
    "swap.linked",
    "swap.replaced",
]
SHORT_APPLY_POINTS = ["erasure.committed"]
LOAD_POINTS = ["load.file:2", "load.before_commit"]
LEFTOVER_PATTERNS = ("*.rebuild*", "*.old", "*.restore*", "*.partial*", ".*.tmp*")


def state(db: Path) -> dict[str, object]:
    """What a run must leave the same: live subjects, counts, finished runs (ids of anonymised
    rows are random, so they are counted, not compared)."""
    return {
        "live_pupils": read(
            db,
            "select organisation_id, pupil_id from raw.pupils "
            "where anonymised_on is null order by all",
        ),
        "anonymised_pupils": read(
            db, "select count(*) from raw.pupils where anonymised_on is not null"
        ),
        "tables": read(
            db,
            """
            select 'contacts', count(*) from raw.pupil_contacts union all
            select 'attendance', count(*) from raw.attendance_sessions union all
            select 'correspondence', count(*) from raw.correspondence union all
            select 'setup', count(*) from raw.setup_imports union all
            select 'quarantine', count(*) from raw.quarantine union all
            select 'employees_named', count(*) from raw.employees where forename is not null
            order by 1""",
        ),
        "suppressed": read(
            db,
            "select subject_kind, count(*) from audit.erasure_suppressions group by 1 order by 1",
        ),
        "applied_unfinished": read(
            db,
            "select count(*) from audit.retention_runs where "
            "outcome = 'applied' and physically_erased_at is null",
        ),
    }


def erased_values(db: Path) -> list[str]:
    """Identifying values of the people the plan erases (UPNs, names, emails, MIS ids)."""
    rows = read(
        db,
        """
        select p.upn, p.surname || ', ' || p.forename, p.email
        from retention.retention_plan as plan
        inner join raw.pupils as p
            on p.organisation_id = plan.organisation_id and p.pupil_id = plan.subject_id
        where plan.table_name = 'raw.pupils'
        union all
        select c.email, c.phone, c.surname || ', ' || c.forename
        from retention.retention_plan as plan
        inner join raw.pupil_contacts as c
            on c.organisation_id = plan.organisation_id and c.contact_id = plan.subject_id
        where plan.subject_kind = 'pupil_contact'
    """,
    )
    return sorted({str(v) for row in rows for v in row if v and len(str(v)) >= 6})


def only_of_the_erased(values: list[str], after: Path) -> list[str]:
    """Leave out values someone kept still has (a household phone, a shared surname and
    forename): after a clean run, nothing live may hold the ones that remain."""
    kept = {
        str(v)
        for (v,) in read(
            after,
            """
        select upn from raw.pupils union all select surname || ', ' || forename from raw.pupils
        union all select email from raw.pupils union all select email from raw.pupil_contacts
        union all select phone from raw.pupil_contacts
        union all select surname || ', ' || forename from raw.pupil_contacts
    """,
        )
        if v is not None
    }
    return [v for v in values if v not in kept]


def files_holding(root: Path, values: list[str], skip: set[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file() and path not in skip:
            data = path.read_bytes()
            hits = [v for v in values if v.encode() in data]
            if hits:
                found[str(path)] = hits[:3]
    return found


def leftovers(*folders: Path) -> list[Path]:
    return [
        p
        for folder in folders
        if folder.exists()
        for pattern in LEFTOVER_PATTERNS
        for p in folder.rglob(pattern)
    ]


@pytest.fixture
def twin(synthetic_warehouse: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The warehouse and a copy of it in another folder, for the clean reference run."""
    reference = tmp_path / "reference" / synthetic_warehouse.name
    reference.parent.mkdir()
    shutil.copy(synthetic_warehouse, reference)
    return synthetic_warehouse, reference


def run_on(db: Path, *args: str, fault: str | None = None):
    env = {
        "TINYTRACKER_DB": str(db),
        "TINYTRACKER_BACKUP_DIR": str(db.parent / "backups"),
        "TINYTRACKER_ANALYTICS_DB": str(db.parent / "analytics.duckdb"),
    }
    if fault:
        env[FAULT_ENV] = fault
    return run_cli(*args, env=env)


@pytest.mark.parametrize("point", APPLY_POINTS if LONG else SHORT_APPLY_POINTS)
def test_a_retention_apply_killed_at_any_step_is_finished_by_the_next_run(
    synthetic_template, twin: tuple[Path, Path], point: str
) -> None:
    db, reference = twin
    as_of = synthetic_template.as_of.isoformat()
    candidates = erased_values(db)
    assert run_on(reference, "retention", "apply", "--as-of", as_of, "--no-build").returncode == 0
    values = only_of_the_erased(candidates, reference)
    assert values
    assert not files_holding(reference.parent, values, skip=set())

    killed = run_on(db, "retention", "apply", "--as-of", as_of, "--no-build", fault=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = run_on(db, "retention", "apply", "--as-of", as_of)
    assert again.returncode == 0, again.stderr

    assert state(db) == state(reference)
    assert not leftovers(db.parent)
    assert not files_holding(db.parent, values, skip=set()), "an erased value survived"


@pytest.mark.parametrize("point", LOAD_POINTS if LONG else LOAD_POINTS[:1])
def test_a_load_killed_part_way_changes_nothing_and_loads_fully_when_run_again(
    synthetic_template, tmp_path: Path, point: str
) -> None:
    db = tmp_path / "killed" / "warehouse.duckdb"
    reference = tmp_path / "clean" / "warehouse.duckdb"
    extract = str(synthetic_template.extract)
    assert run_on(reference, "load", extract).returncode in (0, 4)

    killed = run_on(db, "load", extract, fault=point)
    assert killed.returncode == -signal.SIGKILL
    assert not db.exists() or read(
        db,
        "select count(*) from duckdb_tables() where schema_name = 'raw' "
        "and table_name = 'load_log' and estimated_size > 0",
    ) == [(0,)]
    assert run_on(db, "load", extract).returncode in (0, 4)

    assert state_after_load(db) == state_after_load(reference)


def state_after_load(db: Path) -> list[tuple[object, ...]]:
    return read(
        db,
        """
        select file_name, rows_read, rows_inserted, rows_quarantined, rows_refused
        from raw.load_log order by file_name""",
    )


def test_a_restore_killed_after_preparing_its_copy_leaves_nothing_and_can_run_again(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    """The prepared copy (the backup plus the audit trail) holds every value erased since the
    backup: a kill before the swap must not leave it beside the warehouse."""
    db = synthetic_warehouse
    as_of = synthetic_template.as_of.isoformat()
    assert run_on(db, "backup", "create", "--as-of", "2025-09-30").returncode == 0
    candidates = erased_values(db)
    assert run_on(db, "retention", "apply", "--as-of", as_of, "--no-build").returncode == 0
    values = only_of_the_erased(candidates, db)
    assert values
    backups = db.parent / "backups"
    old_backup = backups / "tinytracker-2025-09-30.duckdb"

    for point in ("restore.prepared", "swap.linked") if LONG else ("restore.prepared",):
        killed = run_on(db, "backup", "restore", "--taken-on", "2025-09-30", fault=point)
        assert killed.returncode == -signal.SIGKILL
        # the next command that opens the warehouse clears what the kill left
        assert run_on(db, "hold", "list").returncode == 0
        assert not leftovers(db.parent)
        assert not files_holding(db.parent, values, skip={old_backup} | set(backups.rglob("*")))
    restored = run_on(db, "backup", "restore", "--taken-on", "2025-09-30")
    assert restored.returncode == 0, restored.stderr
    assert not files_holding(db.parent, values, skip=set(backups.rglob("*")))


def test_a_killed_backup_and_a_killed_publish_leave_nothing_behind(
    synthetic_template, synthetic_warehouse: Path
) -> None:
    db = synthetic_warehouse
    assert (
        run_on(db, "backup", "create", "--as-of", "2025-09-30", fault="backup.copied").returncode
        == -signal.SIGKILL
    )
    assert run_on(db, "publish", fault="publish.before_swap").returncode == -signal.SIGKILL
    assert leftovers(db.parent)  # the kills did leave half-written files

    assert run_on(db, "hold", "list").returncode == 0

    assert not leftovers(db.parent)
    assert os.listdir(db.parent / "backups") in ([], ["erasure-ledger"])


def test_an_apply_whose_rebuild_fails_is_recorded_pending_and_finished_by_the_next_run(
    synthetic_template, twin: tuple[Path, Path], monkeypatch
) -> None:
    """The erasure is committed; its dbt rebuild fails: the run says it is pending, the
    warehouse says so too, and the next apply finishes it before anything else."""
    from tinytracker import tasks

    db, _ = twin
    as_of = synthetic_template.as_of
    with monkeypatch.context() as failing_dbt:
        failing_dbt.setattr(tasks, "run_dbt", lambda *args, **kwargs: 1)
        with pytest.raises(FailedError, match="recorded as pending"):
            tasks.apply_retention(as_of, dry_run=False, build=False)
    assert read(
        db,
        "select count(*) from audit.retention_runs where outcome = 'applied' "
        "and physically_erased_at is null",
    ) == [(1,)]

    again = tasks.apply_retention(as_of, dry_run=False, build=True)

    assert again.finished_earlier_runs == 1
    assert read(
        db,
        "select count(*) from audit.retention_runs where outcome = 'applied' "
        "and physically_erased_at is null",
    ) == [(0,)]
