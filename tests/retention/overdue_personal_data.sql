-- What it guards: no personal data stays past its due_on by more than a 1-day grace: lists every
--   subject still 'due' on as_of more than a day after its due_on (on_hold subjects are kept
--   lawfully and are not listed).
-- When it matters: every build. It is a warning because before a retention run has covered a
--   date, overdue data is expected (the next run removes it); after a run, the error-severity
--   twin overdue_personal_data_after_retention_run.sql takes over for what that run missed.
-- How to resolve: run the retention apply step for this as_of (it executes retention_plan), or
--   place a legal hold (tinytracker hold add) if the data must be kept for a dispute.
{{ config(severity='warn') }}

{%- set grace_days = 1 %}

with

retention_status as (

    select * from {{ ref('retention_status') }}

),

final as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of

    from retention_status
    where
        status = 'due'
        and {{ tinytracker.add_days('due_on', grace_days) }} < as_of

)

select * from final
