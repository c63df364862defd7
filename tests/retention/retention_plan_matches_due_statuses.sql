-- What it guards: retention_plan holds exactly the due statuses: every subject 'due' under its
--   winning rule is planned (with its own table as step 1), and nothing else is: no on_hold,
--   retained or actioned subject, no losing pupil rule, no other due_on or as_of.
-- When it matters: every build; the apply step executes the plan as it stands, so a mismatch
--   would purge held data or leave due data in place.
-- How to resolve: compare the listed subject in retention_status and retention_plan; fix
--   tinytracker/erasure/plan.py or seeds/policy/retention_actions.csv.
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

retention_plan as (

    select * from {{ ref('retention_plan') }}

),

due_subjects as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of

    from retention_status
    where status = 'due' and is_winning_rule

),

planned_subjects as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of

    from retention_plan
    where step = 1

),

all_planned_subjects as (

    select distinct
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of

    from retention_plan

),

due_not_planned as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of
    from due_subjects

    except

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of
    from planned_subjects

),

planned_not_due as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of
    from all_planned_subjects

    except

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of
    from due_subjects

),

final as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of,
        'due but not planned (or planned without its own table)' as problem
    from due_not_planned

    union all

    select
        organisation_id,
        subject_kind,
        subject_id,
        rule_id,
        due_on,
        as_of,
        'planned but not due under its winning rule' as problem
    from planned_not_due

)

select * from final
