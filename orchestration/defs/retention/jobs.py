"""``retention_apply``: one retention run and its blocking check."""

import dagster as dg

from orchestration.defs.retention.assets import retention_run

retention_apply = dg.define_asset_job(
    name="retention_apply",
    selection=dg.AssetSelection.assets(retention_run),
    description="Retention run for as_of (ops.retention_run.config.as_of, empty = today) and "
    "dry_run (default true: launched by hand it only plans). The 02:00 schedule "
    "applies (dry_run false). Then the blocking check nothing_overdue_after_apply.",
)
