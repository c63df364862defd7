"""The DPO report after every applied retention run, whether it succeeded or failed.

A separate job rather than a step of ``retention_apply``: that job's blocking check stops
everything downstream when something is still overdue, which is exactly the night the DPO
needs the page. Dry runs are skipped (nothing changed). The date is the one the retention
run applied, read from its materialization in that Dagster run.
"""

import dagster as dg

from orchestration.defs.reporting.jobs import dpo_report_job
from orchestration.defs.reporting.outcome import report_after_apply
from orchestration.defs.retention.checks import retention_run_of
from orchestration.defs.retention.jobs import retention_apply


def _request(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    run_id = context.dagster_run.run_id
    as_of, dry_run = retention_run_of(context.instance, run_id)
    outcome = report_after_apply(run_id, as_of, dry_run)
    if isinstance(outcome, str):
        return dg.SkipReason(outcome)
    run_key, run_config = outcome
    return dg.RunRequest(
        run_key=run_key,
        run_config=run_config,
        tags={"tinytracker/as_of": as_of.isoformat(), "tinytracker/after_run": run_id},
    )


@dg.run_status_sensor(
    name="dpo_report_after_retention_apply",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[retention_apply],
    request_job=dpo_report_job,
    description="After a successful retention_apply that applied (not a dry run): the DPO "
    "report for its as_of.",
)
def dpo_report_after_retention_apply(context: dg.RunStatusSensorContext):
    return _request(context)


@dg.run_status_sensor(
    name="dpo_report_after_failed_retention_apply",
    run_status=dg.DagsterRunStatus.FAILURE,
    monitored_jobs=[retention_apply],
    request_job=dpo_report_job,
    description="After a failed retention_apply that got as far as applying (e.g. the "
    "blocking check found something overdue): the DPO report for its as_of, which shows it.",
)
def dpo_report_after_failed_retention_apply(context: dg.RunStatusSensorContext):
    return _request(context)
