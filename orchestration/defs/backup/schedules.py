"""Nightly backup at 03:00 London, after the build (01:00) and the retention apply (02:00)."""

import dagster as dg

from orchestration.defs.backup.jobs import nightly_backup
from orchestration.defs.backup.run_config import nightly_backup_run_config
from tinytracker.core.dates import TIMEZONE, scheduled_date


@dg.schedule(
    name="nightly_backup_schedule",
    job=nightly_backup,
    cron_schedule="0 3 * * *",
    execution_timezone=TIMEZONE,
    description="03:00 Europe/London: snapshot named for the scheduled date, then prune.",
)
def nightly_backup_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    taken_on = scheduled_date(context.scheduled_execution_time)
    return dg.RunRequest(
        run_config=nightly_backup_run_config(taken_on),
        tags={"tinytracker/taken_on": taken_on.isoformat()},
    )
