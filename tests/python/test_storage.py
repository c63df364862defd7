"""Physical erasure by rebuild, snapshots and backup pruning (tinytracker/core/files.py)."""

import os
import secrets
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tinytracker.backup import snapshots
from tinytracker.core import files, paths, policy
from tinytracker.core.errors import TinyTrackerError
from tinytracker.erasure.result import RunResult, StepResult
from tinytracker.retention.output import format_result


@pytest.fixture
def warehouse_with_erased_values(tmp_path):
    """A small warehouse where some values were updated away or deleted, then checkpointed."""
    db = tmp_path / "wh.duckdb"
    names = [f"Name{secrets.token_hex(10)}" for _ in range(40)]
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute("create table raw.pupils (pupil_id integer, forename varchar)")
    con.executemany("insert into raw.pupils values (?, ?)", list(enumerate(names)))
    con.execute("create view raw.named as select * from raw.pupils where forename is not null")
    con.execute("checkpoint")
    con.execute("update raw.pupils set forename = null where pupil_id in (3, 4)")
    con.execute("delete from raw.pupils where pupil_id = 5")
    con.execute("checkpoint")
    con.close()
    erased = [names[3], names[4], names[5]]
    kept = [name for i, name in enumerate(names) if i not in (3, 4, 5)]
    return db, erased, kept


def test_checkpoint_alone_leaves_erased_values_in_the_file(warehouse_with_erased_values):
    db, erased, _ = warehouse_with_erased_values
    data = db.read_bytes()
    assert any(value.encode() in data for value in erased)


def test_rebuild_leaves_no_erased_value_in_the_file(warehouse_with_erased_values):
    db, erased, kept = warehouse_with_erased_values
    files.rebuild(db)
    data = db.read_bytes()
    assert not [value for value in erased if value.encode() in data]
    assert not db.with_name(db.name + ".wal").exists()
    con = duckdb.connect(str(db), read_only=True)
    assert sorted(r[0] for r in con.sql("select forename from raw.named").fetchall()) == sorted(
        kept
    )
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39


def test_rebuild_killed_before_the_swap_leaves_the_old_warehouse(
    warehouse_with_erased_values, monkeypatch
):
    db, _, _ = warehouse_with_erased_values
    before = db.read_bytes()

    def crash(*_args):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        files.rebuild(db)
    assert db.read_bytes() == before
    monkeypatch.undo()
    files.cleanup_interrupted_rebuild(db)
    leftovers = [p.name for p in db.parent.iterdir() if p.name != db.name]
    assert leftovers == []


def test_snapshot_is_named_by_date_and_prune_keeps_90_days(tmp_path, warehouse_with_erased_values):
    db, _, _ = warehouse_with_erased_values
    backups = tmp_path / "backups"
    for day in (date(2025, 1, 1), date(2025, 3, 1), date(2025, 4, 2)):
        snapshots.snapshot(day, db=db, directory=backups)
    assert [b.taken_on for b in snapshots.list_backups(backups)] == [
        date(2025, 1, 1),
        date(2025, 3, 1),
        date(2025, 4, 2),
    ]
    pruned = snapshots.prune(date(2025, 4, 2), directory=backups)
    assert [b.taken_on for b in pruned] == [date(2025, 1, 1)]
    assert [b.taken_on for b in snapshots.list_backups(backups)] == [
        date(2025, 3, 1),
        date(2025, 4, 2),
    ]
    con = duckdb.connect(str(backups / "tinytracker-2025-03-01.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39


WRITER = """
import sys, duckdb
try:
    con = duckdb.connect(sys.argv[1])
    con.execute("insert into raw.pupils values (999, 'Committed between copy and swap')")
    con.close()
except duckdb.IOException as exc:
    print("refused:", exc)
    sys.exit(3)
"""


def test_a_writer_cannot_commit_between_the_copy_and_the_swap(
    warehouse_with_erased_values, monkeypatch
):
    """Another process trying to write while the rebuilt copy waits to be swapped in is
    refused by DuckDB's lock (it retries later against the new file), so no row is lost."""
    db, _, _ = warehouse_with_erased_values
    attempts = []
    real_replace = os.replace

    def replace_after_a_concurrent_write(source, target):
        if Path(target) == db:  # the swap: the copy is complete, the old file still in place
            attempts.append(
                subprocess.run(
                    [sys.executable, "-c", WRITER, str(db)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
            )
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace_after_a_concurrent_write)
    files.rebuild(db)
    (writer,) = attempts
    assert writer.returncode == 3 and "lock" in writer.stdout.lower(), writer.stdout + writer.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39


def test_a_writer_waiting_on_the_rebuild_commits_to_the_new_file(
    warehouse_with_erased_values, monkeypatch
):
    """The before_swap hook runs in the locked window: a writer started there waits and its row
    lands in the rebuilt warehouse."""
    db, _, _ = warehouse_with_erased_values
    writers = []
    script = (
        "import sys, os; os.environ['TINYTRACKER_LOCK_WAIT_SECONDS'] = '30'\n"
        "from tinytracker.core import warehouse\n"
        "from pathlib import Path\n"
        "con = warehouse.connect(Path(sys.argv[1]))\n"
        "con.execute(\"insert into raw.pupils values (999, 'After the swap')\")\n"
        "con.close()\n"
    )
    monkeypatch.setattr(
        files,
        "before_swap",
        lambda path: writers.append(
            subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=paths.PROJECT_DIR)
        ),
    )
    files.rebuild(db)
    (writer,) = writers
    assert writer.wait(timeout=60) == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select forename from raw.pupils where pupil_id = 999").fetchall() == [
        ("After the swap",)
    ]


def test_the_replaced_file_is_zero_filled(warehouse_with_erased_values):
    db, erased, _ = warehouse_with_erased_values
    fd = os.open(db, os.O_RDONLY)  # a handle on the old inode, which the swap replaces
    try:
        files.rebuild(db)
        old = os.pread(fd, os.fstat(fd).st_size, 0)
    finally:
        os.close(fd)
    assert old and not any(old)


def test_cleanup_after_a_swap_killed_before_the_rename_keeps_the_warehouse(
    warehouse_with_erased_values, monkeypatch
):
    """Killed after the old file got its second name but before the rename, that name is still
    the live warehouse: cleanup must unlink it, not zero-fill the warehouse."""
    db, _, kept = warehouse_with_erased_values

    def killed(*_args):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        files.rebuild(db)
    monkeypatch.undo()
    assert db.with_name(db.name + ".old").exists()
    files.cleanup_interrupted_rebuild(db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select count(*) from raw.pupils").fetchone()[0] == 39
    assert [p.name for p in db.parent.iterdir() if p.name != db.name] == []


def test_backup_period_is_read_from_the_policy_seed(tmp_path, monkeypatch):
    assert policy.backup_retention_days() == 90  # seeds/policy/retention_general_clauses.csv
    seed = tmp_path / "retention_general_clauses.csv"
    text = policy.GENERAL_CLAUSES_CSV.read_text(encoding="utf-8")
    seed.write_text(
        text.replace(
            "backups_kept_90_days,Database backups,90,day",
            "backups_kept_90_days,Database backups,30,day",
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(policy, "GENERAL_CLAUSES_CSV", seed)
    assert policy.backup_retention_days() == 30
    backups = tmp_path / "backups"
    backups.mkdir()
    for day in ("2025-03-01", "2025-03-31"):
        (backups / f"tinytracker-{day}.duckdb").write_bytes(b"backup")
    # 31 days old is past a 30-day period (it would be kept under 90)
    assert [b.taken_on for b in snapshots.prune(date(2025, 4, 1), directory=backups)] == [
        date(2025, 3, 1)
    ]

    run = RunResult(
        run_id="r", as_of=date(2025, 10, 1), dry_run=False, actioned_on=date(2025, 10, 2)
    )
    assert run.backups_clear_on == date(2025, 11, 1)
    run.steps = [StepResult("left_pupils_2_academic_years", "raw.pupils", "anonymise", 1, 1)]
    assert "until 2025-11-01 (30 days)" in format_result(run)

    seed.write_text(
        text.replace(
            "backups_kept_90_days,Database backups,90,day",
            "backups_kept_90_days,Database backups,3,month",
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        TinyTrackerError,
        match=r"retention_general_clauses.csv, line 2, "
        r"clause backups_kept_90_days",
    ):
        policy.backup_retention_days()
