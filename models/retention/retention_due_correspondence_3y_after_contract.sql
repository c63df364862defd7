with

correspondence as (

    select * from {{ ref('stg_correspondence') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'correspondence_3y_after_contract'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

triggers as (

    select
        correspondence.organisation_id,
        correspondence.correspondence_id as subject_id,
        correspondence.subject_kind as about_kind,
        correspondence.subject_id as about_id,
        organisations.contract_end as trigger_on

    from correspondence
    left join organisations
        on correspondence.organisation_id = organisations.organisation_id

),

-- every standing hold covering the subject (retention_hold_coverage says who a hold keeps)
held_subjects as (

    select distinct
        organisation_id,
        subject_id

    from hold_coverage
    where subject_kind = 'correspondence'

),

final as (

    select
        triggers.organisation_id,
        rules.subject_kind,
        triggers.subject_id,
        rules.rule_id,
        case when triggers.trigger_on is not null then 'contract_end' end as triggered_by,
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
