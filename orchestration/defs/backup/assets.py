"""``warehouse_backups``: the snapshots in the backup folder, as an asset the nightly backup job
and ``tinytracker backup create`` both report (they take it; nothing materializes it here)."""

import dagster as dg

BACKUPS_KEY = "warehouse_backups"

warehouse_backups = dg.AssetSpec(
    BACKUPS_KEY,
    group_name="backup",
    kinds={"duckdb"},
    description="Consistent snapshots of the warehouse, one per day, in the backup folder (env "
    "TINYTRACKER_BACKUP_DIR), pruned after the policy's backup period. Reported by the "
    "nightly_backup job and by `tinytracker backup create`.",
)
