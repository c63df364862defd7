"""``nightly_backup``: snapshot the warehouse, then prune backups past the backup period."""

import dagster as dg

from orchestration.defs.backup.ops import prune_backups, snapshot_warehouse


@dg.job(
    name="nightly_backup",
    description="Snapshot the warehouse to the backup folder (env TINYTRACKER_BACKUP_DIR) "
    "named for taken_on (ops.snapshot_warehouse.config.taken_on, empty = today), "
    "then shred backups older than the policy's backup period.",
)
def nightly_backup():
    prune_backups(snapshot_warehouse())
