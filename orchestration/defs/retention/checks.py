"""``nothing_overdue_after_apply``: after an apply, nothing due by its as_of may remain due.

Blocking: a failure fails the run, so a scheduled apply that missed anything shows red. It
judges the retention run of its own Dagster run: the as_of and dry_run of the
``retention_run`` materialization recorded for this run id (not the latest on the instance,
which another run may have made meanwhile), and queries ``retention.retention_status``
read-only, in the warehouse pool.
"""

import datetime as dt

import dagster as dg

from orchestration.defs.retention.assets import retention_run
from orchestration.defs.retention.outcome import check_after_apply
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.defs.warehouse.turn import warehouse_turn


def retention_run_of(
    instance: dg.DagsterInstance, run_id: str
) -> tuple[dt.date | None, bool | None]:
    """as_of and dry_run of the ``retention_run`` materialized in Dagster run ``run_id``."""
    records = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, ascending=False
    ).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None or materialization.asset_key != retention_run.key:
            continue
        metadata = materialization.metadata
        if "as_of" in metadata and "dry_run" in metadata:
            return (dt.date.fromisoformat(metadata["as_of"].value), bool(metadata["dry_run"].value))
    return None, None


@dg.asset_check(
    asset=retention_run,
    name="nothing_overdue_after_apply",
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="After this run's non-dry retention run: no subject in "
    "retention.retention_status is still 'due' with due_on on or before as_of "
    "(on_hold is fine). A dry run passes with a note.",
)
def nothing_overdue_after_apply(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    as_of, dry_run = retention_run_of(context.instance, context.run.run_id)
    with warehouse_turn():
        if as_of is None or dry_run:
            verdict = check_after_apply(None, as_of, dry_run)
        else:
            con = warehouse.connect(read_only=True)
            try:
                verdict = check_after_apply(con, as_of, dry_run)
            finally:
                con.close()
    return dg.AssetCheckResult(
        passed=verdict.passed,
        description=verdict.description,
        metadata=verdict.metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )
