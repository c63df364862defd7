"""Warehouse files: physical erasure by rebuild, consistent snapshots, backup pruning.

DuckDB's DELETE and UPDATE leave the old values in the database file's free blocks, even
after CHECKPOINT, so a retention run that erased anything is not finished until the file
itself no longer holds them. :func:`rebuild` copies the live database into a fresh file
(``COPY FROM DATABASE`` writes only live rows) and swaps it in with one atomic rename:
killed at any moment, the path holds either the old file or the complete new one. The old
inode is zero-filled before it is unlinked so its blocks do not keep the erased values.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.errors import TinyTrackerError
from orchestration.warehouse import PROJECT_DIR, db_path, duckdb_config

BACKUP_DIR_ENV = "TINYTRACKER_BACKUP_DIR"
BACKUP_RETENTION_DAYS = 90
BACKUP_NAME = re.compile(r"^tinytracker-(\d{4}-\d{2}-\d{2})\.duckdb$")


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
    """Remove what a killed rebuild left behind (an unfinished copy, an unshredded old file)."""
    db = db or db_path()
    pending, old = _sidecars(db)
    for leftover in (pending, pending.with_name(pending.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    if old.exists():
        _shred(old)


def copy_database(source: Path, target: Path) -> None:
    """Write every schema, table, view and macro of ``source`` into a new file ``target``.

    The source is attached read-write so this process holds its lock: no other writer can
    change it between the copy and whatever the caller does next.
    """
    if target.exists():
        target.unlink()
    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        con.execute("attach ? as source_db", [str(source)])
        con.execute("checkpoint source_db")
        con.execute("attach ? as target_db", [str(target)])
        con.execute("copy from database source_db to target_db")
        con.execute("detach target_db")
        con.execute("detach source_db")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise TinyTrackerError(
                f"warehouse {source} is in use by another process; stop it and retry"
            ) from exc
        raise
    finally:
        con.close()
    _fsync(target)


def rebuild(db: Path | None = None) -> Path:
    """Rewrite the warehouse into a fresh file and swap it in atomically (physical erasure)."""
    db = db or db_path()
    cleanup_interrupted_rebuild(db)
    pending, old = _sidecars(db)
    copy_database(db, pending)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():  # a checkpointed, closed database has none; never pair it with new data
        raise TinyTrackerError(f"{wal} still exists after checkpoint; not swapping files")
    os.link(db, old)  # keep a name on the old inode so it can be zero-filled after the swap
    os.replace(pending, db)
    _fsync(db.parent)
    _shred(old)
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
          keep_days: int = BACKUP_RETENTION_DAYS) -> list[Backup]:
    """Delete (zero-filled) backups older than ``keep_days``: the policy keeps them 90 days."""
    cutoff = today - timedelta(days=keep_days)
    pruned = [backup for backup in list_backups(directory) if backup.taken_on < cutoff]
    for backup in pruned:
        _shred(backup.path)
    return pruned
