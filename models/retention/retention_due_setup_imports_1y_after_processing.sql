with

setup_imports as (

    select * from {{ ref('stg_setup_imports') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'setup_imports_1y_after_processing'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

-- one subject per import; its earliest processed row starts the clock
triggers as (

    select
        organisation_id,
        import_id as subject_id,
        min(processed_on) as trigger_on

    from setup_imports
    group by organisation_id, import_id

),

-- every standing hold covering the subject (retention_hold_coverage says who a hold keeps)
held_subjects as (

    select distinct
        organisation_id,
        subject_id

    from hold_coverage
    where subject_kind = 'setup_import'

),

final as (

    select
        triggers.organisation_id,
        rules.subject_kind,
        triggers.subject_id,
        rules.rule_id,
        case when triggers.trigger_on is not null then 'processed_on' end as triggered_by,
        triggers.trigger_on,
        {{ tinytracker.add_period(
            'triggers.trigger_on', 'rules.period_value', 'rules.period_unit'
        ) }} as due_on,
        cast(null as date) as actioned_on,
        held_subjects.subject_id is not null as is_held

    from triggers
    cross join rules
    left join held_subjects
        on
            triggers.organisation_id = held_subjects.organisation_id
            and triggers.subject_id = held_subjects.subject_id

)

select * from final
