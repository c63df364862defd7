"""``retention_run``: plan (dry run) or apply the retention work due on ``as_of``.

It calls :func:`tinytracker.tasks.apply_retention`, which builds the retention
models for the date itself, applies ``retention.retention_plan`` in one transaction, rebuilds
everything derived and rewrites the warehouse file. An apply (dry_run false) for an as_of
after today fails with the reason before anything runs; a dry run may simulate any date
and leaves the ``retention`` schema as it is. The report the CLI prints is the
materialization's ``report``; counts per rule and table are metadata.
"""

import dagster as dg

from orchestration.defs.retention.config import RetentionRunConfig
from orchestration.defs.retention.outcome import requested_by, retention_metadata
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.turn import warehouse_turn
from tinytracker.core.dates import resolve_date
from tinytracker.retention.output import format_result
from tinytracker.tasks import apply_retention


@dg.asset(
    key="retention_run",
    group_name="retention",
    deps=[
        dg.AssetKey(["retention", "retention_plan"]),
        dg.AssetKey(["retention", "retention_status"]),
    ],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    description="One retention run for as_of: a dry run (the default when launched by hand) "
    "plans and logs, for any date, in schema retention_dry_run; dry_run=false (the "
    "02:00 schedule) deletes and anonymises what retention_plan names (never a "
    "subject under a standing hold), logs it in audit.retention_log and rewrites "
    "the file. An apply refuses an as_of after today.",
)
def retention_run(
    context: dg.AssetExecutionContext, config: RetentionRunConfig
) -> dg.MaterializeResult:
    with warehouse_turn():
        as_of = resolve_date(config.as_of)
        result = apply_retention(
            as_of,
            dry_run=config.dry_run,
            requested_by=requested_by(context.run.run_id, context.run.tags),
        )
    report = format_result(result)
    context.log.info(report)
    if result.dry_run:
        context.log.warning(
            f"dry run for {as_of}: nothing was changed; launch with "
            "dry_run: false (as the 02:00 schedule does) to apply"
        )
    return dg.MaterializeResult(
        metadata={
            **retention_metadata(result),
            "report": dg.MetadataValue.md(f"```\n{report}\n```"),
        }
    )
