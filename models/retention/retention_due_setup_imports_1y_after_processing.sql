with

setup_imports as (

    select * from {{ ref('stg_setup_imports') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'setup_imports_1y_after_processing'

),

active_holds as (

    select * from {{ ref('retention_active_holds') }}

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

-- setup files are not attributed to one pupil: only an organisation hold holds them
held_subjects as (

    select distinct
        triggers.organisation_id,
        triggers.subject_id

    from triggers
    inner join active_holds
        on
            triggers.organisation_id = active_holds.organisation_id
            and active_holds.held_subject_kind = 'organisation'

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
