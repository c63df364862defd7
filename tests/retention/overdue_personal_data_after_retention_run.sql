-- What it guards: a completed, non-dry retention run (audit.retention_log; scheduled or from
--   `tinytracker retention apply`, not an erasure request or a restore) whose as_of was at
--   least a day past a subject's due_on should have actioned it; lists subjects still 'due'
--   (more than the 1-day grace past due_on) although such a run has finished.
-- When it matters: after the first real retention run; before it, audit.retention_log has no
--   non-dry rows and this test passes (overdue_personal_data.sql warns instead). Data loaded
--   after that run that was already overdue also fails here until the next run removes it.
-- How to resolve: find why the run skipped the subject (compare retention_plan with the run's
--   rows in audit.retention_log), then rerun the apply step for a current as_of.
{{ config(severity='error') }}

{%- set grace_days = 1 %}

with

retention_status as (

    select * from {{ ref('retention_status') }}

),

retention_log as (

    select * from {{ ref('stg_retention_log') }}

),

completed_runs as (

    select
        run_id,
        max(as_of) as run_as_of

    from retention_log
    where
        not is_dry_run
        and finished_at is not null
        -- an erasure request or a restore's replay ('restore' before it was named so) acts
        -- on chosen subjects, not on everything due
        and coalesce(requested_by, 'schedule') not in (
            'erasure_request', 'restore', 'restore_replay'
        )
    group by run_id

),

overdue as (

    select * from retention_status
    where
        status = 'due'
        and {{ tinytracker.add_days('due_on', grace_days) }} < as_of

),

final as (

    select
        overdue.organisation_id,
        overdue.subject_kind,
        overdue.subject_id,
        overdue.rule_id,
        overdue.due_on,
        overdue.as_of,
        max(completed_runs.run_as_of) as latest_run_as_of,
        count(*) as runs_that_missed_it

    from overdue
    inner join completed_runs
        on completed_runs.run_as_of >= {{ tinytracker.add_days('overdue.due_on', grace_days) }}
    group by
        overdue.organisation_id,
        overdue.subject_kind,
        overdue.subject_id,
        overdue.rule_id,
        overdue.due_on,
        overdue.as_of

)

select * from final
