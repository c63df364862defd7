"""``nothing_overdue_after_apply``: after an apply, no subject may still be due.

Blocking: a failure fails the run, so a scheduled apply that missed anything shows red. It
reads the as_of and dry_run of the latest ``retention_run`` materialization (the one this run
just made) and queries ``retention.retention_status`` read-only, in the warehouse pool.
"""

import datetime as dt

import dagster as dg

from orchestration.defs.failures import user_errors_as_failure
from orchestration.defs.retention.assets import retention_run
from orchestration.defs.retention.outcome import check_after_apply
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource


def _latest_run(context: dg.AssetCheckExecutionContext) -> tuple[dt.date | None, bool | None]:
    event = context.instance.get_latest_materialization_event(retention_run.key)
    if event is None or event.asset_materialization is None:
        return None, None
    metadata = event.asset_materialization.metadata
    if "as_of" not in metadata or "dry_run" not in metadata:
        return None, None
    return dt.date.fromisoformat(metadata["as_of"].value), bool(metadata["dry_run"].value)


@dg.asset_check(
    asset=retention_run,
    name="nothing_overdue_after_apply",
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="After a non-dry retention run: no subject in retention.retention_status is "
                "still 'due' with due_on before as_of (on_hold is fine). A dry run passes "
                "with a note.",
)
def nothing_overdue_after_apply(context: dg.AssetCheckExecutionContext,
                                warehouse: WarehouseResource) -> dg.AssetCheckResult:
    as_of, dry_run = _latest_run(context)
    with user_errors_as_failure():
        if as_of is None or dry_run:
            verdict = check_after_apply(None, as_of, dry_run)
        else:
            con = warehouse.connect(read_only=True)
            try:
                verdict = check_after_apply(con, as_of, dry_run)
            finally:
                con.close()
    return dg.AssetCheckResult(passed=verdict.passed, description=verdict.description,
                               metadata=verdict.metadata,
                               severity=dg.AssetCheckSeverity.ERROR)
