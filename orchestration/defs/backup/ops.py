"""The two steps of the nightly backup: snapshot (in the warehouse pool), then prune."""

import datetime as dt

import dagster as dg

from orchestration.defs.backup.assets import BACKUPS_KEY
from orchestration.defs.backup.config import BackupConfig
from orchestration.defs.backup.report import prune_metadata, snapshot_metadata
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.defs.warehouse.turn import warehouse_turn
from tinytracker.backup import snapshots
from tinytracker.core import paths, policy
from tinytracker.core.dates import resolve_date


@dg.op(
    pool=WAREHOUSE_POOL,  # holds the warehouse's lock while it copies (a consistent snapshot)
    out=dg.Out(str, description="The snapshot's date, YYYY-MM-DD: pruning counts from it."),
    description="Copy the warehouse to <backup dir>/tinytracker-<date>.duckdb (env "
    "TINYTRACKER_BACKUP_DIR, default backups/).",
)
def snapshot_warehouse(
    context: dg.OpExecutionContext, config: BackupConfig, warehouse: WarehouseResource
) -> dg.Output:
    with warehouse_turn():
        taken_on = resolve_date(config.taken_on, field="taken_on")
        backup = snapshots.snapshot(taken_on, db=warehouse.path())
    context.log.info(f"snapshot written: {backup.path}")
    # the backups asset, as a CLI `backup create` records it too
    context.log_event(dg.AssetMaterialization(BACKUPS_KEY, metadata=snapshot_metadata(backup)))
    return dg.Output(taken_on.isoformat(), metadata=snapshot_metadata(backup))


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Shred and delete backups older than the policy's backup period (seeds/policy/"
    "retention_general_clauses.csv, backups_kept_90_days). Runs only after a "
    "successful snapshot; touches the backup folder only.",
)
def prune_backups(context: dg.OpExecutionContext, taken_on: str) -> dg.Output:
    today = dt.date.fromisoformat(taken_on)
    directory = paths.backup_dir()
    with warehouse_turn():
        keep_days = policy.backup_retention_days()
    pruned = snapshots.prune(today, directory, keep_days=keep_days)
    kept = snapshots.list_backups(directory)
    for backup in pruned:
        context.log.info(f"pruned {backup.path} (taken {backup.taken_on})")
    return dg.Output(None, metadata=prune_metadata(today, pruned, kept, directory, keep_days))
