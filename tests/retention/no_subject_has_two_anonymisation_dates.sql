-- What it guards: "where two rules hit the same pupil, the earlier due_on wins; anonymisation is
--   done once": no subject is anonymised on two dates, planned under two rules or dates, or
--   planned again after it was anonymised.
-- When it matters: for pupils hit by both pupil rules (a leaver of an organisation whose
--   contract ended, or whose customer asked for early anonymisation), and after every apply.
-- How to resolve: check retention_status.is_winning_rule for the subject (one winner per
--   subject) and that the apply step re-keyed every table to one surrogate on one date.
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

retention_plan as (

    select * from {{ ref('retention_plan') }}

),

anonymised_twice as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        'anonymised on more than one date' as problem

    from retention_status
    where status = 'actioned' and action = 'anonymise'
    group by organisation_id, subject_kind, subject_id
    having count(distinct actioned_on) > 1

),

planned_twice as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        'planned under more than one rule or due date' as problem

    from retention_plan
    where subject_kind in ('pupil', 'employee')
    group by organisation_id, subject_kind, subject_id
    having count(distinct rule_id) > 1 or count(distinct due_on) > 1

),

planned_after_anonymisation as (

    select distinct
        retention_plan.organisation_id,
        retention_plan.subject_kind,
        retention_plan.subject_id,
        'planned again although already anonymised' as problem

    from retention_plan
    inner join retention_status
        on
            retention_plan.organisation_id = retention_status.organisation_id
            and retention_plan.subject_kind = retention_status.subject_kind
            and retention_plan.subject_id = retention_status.subject_id
    where retention_status.status = 'actioned'

),

final as (

    select * from anonymised_twice
    union all
    select * from planned_twice
    union all
    select * from planned_after_anonymisation

)

select * from final
