"""Warehouse files: physical erasure by rebuild, consistent snapshots, backup pruning.

DuckDB's DELETE and UPDATE leave the old values in the database file's free blocks, even
after CHECKPOINT, so a retention run that erased anything is not finished until the file
itself no longer holds them. :func:`rebuild` copies the live database into a fresh file
(``COPY FROM DATABASE`` writes only live rows) and swaps it in with one atomic rename:
killed at any moment, the path holds either the old file or the complete new one. The old
inode is zero-filled before it is unlinked so its blocks do not keep the erased values.

The copy and the swap happen while one connection holds the old file open read-write, which
holds DuckDB's single-writer lock: no other process can commit a row between the copy and the
swap (it would be lost with the old file). :func:`holding_warehouse_lock` and
:func:`swap_in_locked` are that mechanism, for any code that replaces the warehouse file.

How long backups are kept is policy, not code: :func:`backup_retention_days` reads it from
``seeds/policy/retention_general_clauses.csv`` (clause ``backups_kept_90_days``).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.errors import TinyTrackerError
from orchestration.warehouse import PROJECT_DIR, SEEDS_DIR, connect, db_path

BACKUP_DIR_ENV = "TINYTRACKER_BACKUP_DIR"
BACKUP_NAME = re.compile(r"^tinytracker-(\d{4}-\d{2}-\d{2})\.duckdb$")
GENERAL_CLAUSES_CSV = SEEDS_DIR / "policy" / "retention_general_clauses.csv"
BACKUP_CLAUSE_ID = "backups_kept_90_days"

# Called by :func:`rebuild` after the copy is complete and before the swap, with the
# warehouse path, while the lock is held; tests replace it to try to write in that window.
before_swap: Callable[[Path], None] = lambda db: None


def backup_retention_days(path: Path | None = None) -> int:
    """Days a backup is kept (the policy's backup period), from the general-clauses seed.

    The one place Python reads the period: pruning, ``backups_clear_on`` of a retention run
    and every message that states the period use it, and dbt's retention_status reads the
    same seed row, so changing the seed changes them all.
    """
    path = path or GENERAL_CLAUSES_CSV
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(enumerate(csv.DictReader(handle), start=2))
    except FileNotFoundError:
        raise TinyTrackerError(f"{path} is missing: it states the policy's backup period") from None
    for line, row in rows:
        if row.get("clause_id") != BACKUP_CLAUSE_ID:
            continue
        value = (row.get("period_value") or "").strip()
        unit = (row.get("period_unit") or "").strip()
        if unit != "day" or not value.isdigit() or int(value) < 1:
            raise TinyTrackerError(
                f"{path}, line {line}, clause {BACKUP_CLAUSE_ID}: the backup period must be a "
                f"whole number of days (period_value >= 1, period_unit day), got "
                f"{value!r} {unit!r}"
            )
        return int(value)
    raise TinyTrackerError(f"{path} has no clause {BACKUP_CLAUSE_ID}: the backup period is unknown")


def _sidecars(db: Path) -> tuple[Path, Path]:
    return db.with_name(db.name + ".rebuild"), db.with_name(db.name + ".old")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shred(path: Path) -> None:
    """Overwrite a file with zeros, then unlink it, so its old blocks hold no erased values."""
    size = path.stat().st_size
    chunk = b"\0" * (1 << 20)
    with open(path, "r+b", buffering=0) as handle:
        remaining = size
        while remaining > 0:
            remaining -= handle.write(chunk[: min(len(chunk), remaining)])
        os.fsync(handle.fileno())
    path.unlink()


def cleanup_interrupted_rebuild(db: Path | None = None) -> None:
    """Remove what a killed rebuild left behind (an unfinished copy, an unshredded old file).

    Call it while holding the warehouse lock (as :func:`rebuild` does): the lock is what
    tells a leftover from the copy of a rebuild still running in another process.
    """
    db = db or db_path()
    pending, old = _sidecars(db)
    for leftover in (pending, pending.with_name(pending.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    _finish_old(db, old)


def _finish_old(db: Path, old: Path) -> None:
    """Zero-fill and unlink the replaced file's last name, unless it is still the live file.

    A swap killed between linking ``old`` and the rename leaves ``old`` as a second name of
    the live warehouse: that name is only unlinked, never zero-filled.
    """
    if not old.exists():
        return
    if db.exists() and os.path.samefile(db, old):
        old.unlink()
    else:
        _shred(old)


@contextmanager
def holding_warehouse_lock(db: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on ``db`` kept open for the block: it holds DuckDB's lock.

    While it is open no other process can open the file at all (a writer or a reader waits
    in :func:`orchestration.warehouse.connect` and then fails with the lock message), so
    whatever the block copies or swaps cannot miss a row committed meanwhile.
    """
    con = connect(db or db_path())  # waits briefly on another writer, like every writer
    try:
        yield con
    finally:
        con.close()


def copy_into(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write every schema, table, view and macro of ``con``'s database into a new file.

    ``COPY FROM DATABASE`` writes only live rows, so ``target`` holds no deleted or
    overwritten value. ``con`` keeps its lock throughout; ``target`` is detached (and so
    checkpointed, with no WAL) and fsynced before this returns.
    """
    if target.exists():
        target.unlink()
    (source,) = con.execute("select current_database()").fetchone()
    con.execute("checkpoint")
    con.execute("attach ? as tt_copy_target", [str(target)])
    try:
        con.execute(f'copy from database "{source}" to tt_copy_target')
    finally:
        con.execute("detach tt_copy_target")
    _fsync(target)


def swap_in_locked(db: Path, replacement: Path) -> None:
    """Atomically put ``replacement`` at ``db`` and zero-fill the old file's blocks.

    Call it inside :func:`holding_warehouse_lock` for ``db``, after the last write to
    ``replacement`` (closed or detached, so it has no WAL): the old file is shredded before
    the caller releases the lock, so no other process ever opens the old file after the
    copy was taken. Killed at any moment, ``db`` names the old file or the complete new one;
    an unshredded old file is finished by :func:`cleanup_interrupted_rebuild`.
    (retention/restore.py can replace its own swap with this.)
    """
    _, old = _sidecars(db)
    for wal in (db.with_name(db.name + ".wal"),
                replacement.with_name(replacement.name + ".wal")):
        if wal.exists():  # checkpointed databases have none; never pair one with other data
            raise TinyTrackerError(f"{wal} exists after checkpoint; not swapping files")
    _finish_old(db, old)
    os.link(db, old)  # keep a name on the old inode so it can be zero-filled after the swap
    os.replace(replacement, db)
    _fsync(db.parent)
    _shred(old)


def copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` into a new file ``target`` while holding ``source``'s lock."""
    with holding_warehouse_lock(source) as con:
        copy_into(con, target)


def rebuild(db: Path | None = None) -> Path:
    """Rewrite the warehouse into a fresh file and swap it in atomically (physical erasure).

    One connection holds the warehouse's lock from before the copy until the old file is
    zero-filled, so a row another process tries to commit meanwhile is refused (it waits and
    retries against the new file), never lost with the old one.
    """
    db = db or db_path()
    pending, _ = _sidecars(db)
    with holding_warehouse_lock(db) as con:
        cleanup_interrupted_rebuild(db)
        copy_into(con, pending)
        before_swap(db)
        swap_in_locked(db, pending)
    return db


@dataclass(frozen=True)
class Backup:
    taken_on: date
    path: Path


def backup_dir() -> Path:
    path = Path(os.environ.get(BACKUP_DIR_ENV, "backups"))
    return path if path.is_absolute() else PROJECT_DIR / path


def list_backups(directory: Path | None = None) -> list[Backup]:
    directory = directory or backup_dir()
    if not directory.exists():
        return []
    found = []
    for path in directory.iterdir():
        match = BACKUP_NAME.match(path.name)
        if match:
            found.append(Backup(date.fromisoformat(match.group(1)), path))
    return sorted(found, key=lambda backup: backup.taken_on)


def snapshot(taken_on: date, db: Path | None = None, directory: Path | None = None) -> Backup:
    """A consistent copy of the warehouse as ``backups/tinytracker-<date>.duckdb``."""
    db = db or db_path()
    if not db.exists():
        raise TinyTrackerError(f"no warehouse at {db} to back up")
    directory = directory or backup_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"tinytracker-{taken_on.isoformat()}.duckdb"
    pending = target.with_name(target.name + ".partial")
    copy_database(db, pending)
    os.replace(pending, target)
    _fsync(directory)
    return Backup(taken_on, target)


def prune(today: date, directory: Path | None = None,
          keep_days: int | None = None) -> list[Backup]:
    """Delete (zero-filled) backups older than ``keep_days`` (default: the policy's period)."""
    keep_days = backup_retention_days() if keep_days is None else keep_days
    cutoff = today - timedelta(days=keep_days)
    pruned = [backup for backup in list_backups(directory) if backup.taken_on < cutoff]
    for backup in pruned:
        _shred(backup.path)
    return pruned
