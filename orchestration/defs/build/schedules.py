"""Nightly build at 01:00 London, for the date it was scheduled for."""

import dagster as dg

from orchestration.defs.build.jobs import nightly_build
from orchestration.defs.build.run_config import nightly_build_run_config
from tinytracker.core.dates import TIMEZONE, scheduled_date


@dg.schedule(
    name="nightly_build_schedule",
    job=nightly_build,
    cron_schedule="0 1 * * *",
    execution_timezone=TIMEZONE,
    description="01:00 Europe/London: dbt build for as_of = the scheduled date, then publish. "
    "On Sundays every data test scans every row (full_tests), the weekly full scan.",
)
def nightly_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = scheduled_date(context.scheduled_execution_time)
    return dg.RunRequest(
        run_config=nightly_build_run_config(as_of), tags={"tinytracker/as_of": as_of.isoformat()}
    )
