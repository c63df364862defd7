"""Retention apply at 02:00 London (after the 01:00 build): dry_run false, as_of = that date."""

import dagster as dg

from orchestration.defs.retention.jobs import retention_apply
from orchestration.defs.retention.run_config import retention_run_config
from tinytracker.core.dates import TIMEZONE, scheduled_date


@dg.schedule(
    name="retention_apply_schedule",
    job=retention_apply,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    description="02:00 Europe/London: apply (dry_run false) the retention work due on the "
    "scheduled date.",
)
def retention_apply_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = scheduled_date(context.scheduled_execution_time)
    return dg.RunRequest(
        run_config=retention_run_config(as_of, dry_run=False),
        tags={"tinytracker/as_of": as_of.isoformat(), "tinytracker/dry_run": "false"},
    )
