{#- Subjects still 'due' on as_of more than `grace_days` after their due_on, for the two
    compliance tests tests/retention/overdue_personal_data*.sql (one query, two severities).
    A run counts once it is a completed, non-dry retention run of audit.retention_log that
    acted on everything due (the schedule or `tinytracker retention apply`): an erasure request
    or a restore acts on chosen subjects only. `after_first_run` true lists them only once such
    a run exists (the error), false only while none does (the warning), so each overdue
    subject is reported once, at the severity the policy asks for. on_hold rows are never
    listed: the hold keeps them lawfully. -#}
{% macro overdue_personal_data(retention_status, retention_log, after_first_run,
                               grace_days=1) -%}
    {{ return(adapter.dispatch('overdue_personal_data', 'tinytracker')(
        retention_status, retention_log, after_first_run, grace_days
    )) }}
{%- endmacro %}

{% macro default__overdue_personal_data(retention_status, retention_log, after_first_run,
                                        grace_days) -%}

with

retention_status as (

    select * from {{ retention_status }}

),

retention_log as (

    select * from {{ retention_log }}

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

run_history as (

    select
        count(*) as completed_run_count,
        max(run_as_of) as latest_run_as_of

    from completed_runs

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
        run_history.completed_run_count,
        run_history.latest_run_as_of

    from overdue
    cross join run_history
    where run_history.completed_run_count {{ '> 0' if after_first_run else '= 0' }}

)

select * from final

{%- endmacro %}
