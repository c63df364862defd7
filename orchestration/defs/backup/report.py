"""What a snapshot and a prune did, as metadata (plain functions, tested without Dagster)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tinytracker.backup.snapshots import Backup
from tinytracker.core.policy import backup_retention_days


def snapshot_metadata(backup: Backup) -> dict[str, object]:
    return {
        "taken_on": backup.taken_on.isoformat(),
        "path": str(backup.path),
        "bytes": backup.path.stat().st_size,
    }


def prune_metadata(
    today: dt.date,
    pruned: list[Backup],
    kept: list[Backup],
    directory: Path,
    keep_days: int | None = None,
) -> dict[str, object]:
    keep_days = backup_retention_days() if keep_days is None else keep_days
    return {
        "backup_dir": str(directory),
        "keep_days": keep_days,
        "pruned_before": (today - dt.timedelta(days=keep_days)).isoformat(),
        "pruned": len(pruned),
        "pruned_dates": ", ".join(b.taken_on.isoformat() for b in pruned) or "none",
        "kept": len(kept),
        "oldest_kept": kept[0].taken_on.isoformat() if kept else "none",
    }
