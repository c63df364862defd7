with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'pupils_2y_after_contract'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

triggers as (

    select
        pupils.organisation_id,
        pupils.pupil_id as subject_id,
        organisations.contract_end,
        organisations.anonymise_requested_on,
        pupils.anonymised_on as actioned_on

    from pupils
    left join organisations
        on pupils.organisation_id = organisations.organisation_id

),

contract_due_dates as (

    select
        triggers.*,
        rules.rule_id,
        rules.subject_kind,
        {{ tinytracker.add_period(
            'triggers.contract_end', 'rules.period_value', 'rules.period_unit'
        ) }} as contract_due_on

    from triggers
    cross join rules

),

-- the customer's request is itself the due date when it comes before contract end + period
earliest_triggers as (

    select
        *,
        case
            when
                anonymise_requested_on is not null
                and (contract_due_on is null or anonymise_requested_on < contract_due_on)
                then 'anonymise_requested_on'
            when contract_end is not null then 'contract_end'
        end as triggered_by,
        {{ tinytracker.least_of_dates(['contract_due_on', 'anonymise_requested_on']) }} as due_on

    from contract_due_dates

),

-- every standing hold covering the subject (retention_hold_coverage says who a hold keeps)
held_subjects as (

    select distinct
        organisation_id,
        subject_id

    from hold_coverage
    where subject_kind = 'pupil'

),

final as (

    select
        earliest_triggers.organisation_id,
        earliest_triggers.subject_kind,
        earliest_triggers.subject_id,
        earliest_triggers.rule_id,
        earliest_triggers.triggered_by,
        case earliest_triggers.triggered_by
            when 'anonymise_requested_on' then earliest_triggers.anonymise_requested_on
            when 'contract_end' then earliest_triggers.contract_end
        end as trigger_on,
        earliest_triggers.due_on,
        earliest_triggers.actioned_on,
        held_subjects.subject_id is not null as is_held

    from earliest_triggers
    left join held_subjects
        on
            earliest_triggers.organisation_id = held_subjects.organisation_id
            and earliest_triggers.subject_id = held_subjects.subject_id

)

select * from final
