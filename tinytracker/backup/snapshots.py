"""Backups: a consistent copy of the warehouse per day, pruned after the policy's period.

Backups hold what later runs erase, so they are kept no longer than the policy says
(``backups_kept_90_days``) and shredded (zero-filled, then unlinked) when pruned.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tinytracker.core import faults
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.files import copy_database, fsync, shred
from tinytracker.core.paths import backup_dir, db_path
from tinytracker.core.policy import backup_retention_days

PARTIAL_SUFFIX = ".partial"
BACKUP_NAME = re.compile(r"^tinytracker-(\d{4}-\d{2}-\d{2})\.duckdb$")


@dataclass(frozen=True)
class Backup:
    taken_on: date
    path: Path


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
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)  # backups hold everything the warehouse holds
    target = directory / f"tinytracker-{taken_on.isoformat()}.duckdb"
    pending = target.with_name(target.name + PARTIAL_SUFFIX)
    copy_database(db, pending)
    faults.reached("backup.copied")
    os.replace(pending, target)
    fsync(directory)
    return Backup(taken_on, target)


def clean_leftovers(directory: Path | None = None) -> int:
    """Zero-fill and remove what a killed backup left (``*.partial``: a copy of the warehouse,
    with everything it held); returns how many. Call it holding the command lock."""
    directory = directory or backup_dir()
    if not directory.is_dir():
        return 0
    removed = 0
    for leftover in directory.glob(f"*{PARTIAL_SUFFIX}*"):
        if leftover.is_file():
            shred(leftover)
            removed += 1
    return removed


def prune(today: date, directory: Path | None = None, keep_days: int | None = None) -> list[Backup]:
    """Delete (zero-filled) backups older than ``keep_days`` (default: the policy's period)."""
    keep_days = backup_retention_days() if keep_days is None else keep_days
    cutoff = today - timedelta(days=keep_days)
    pruned = [backup for backup in list_backups(directory) if backup.taken_on < cutoff]
    for backup in pruned:
        shred(backup.path)
    return pruned
