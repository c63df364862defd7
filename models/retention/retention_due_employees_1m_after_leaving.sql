with

employees as (

    select * from {{ ref('stg_employees') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'employees_1m_after_leaving'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

-- (interp.) leaving or the contract ending, whichever is first
triggers as (

    select
        employees.organisation_id,
        employees.employee_id as subject_id,
        employees.leaving_date,
        employees.anonymised_on as actioned_on,
        {{ tinytracker.least_of_dates(['employees.leaving_date', 'organisations.contract_end']) }}
            as trigger_on

    from employees
    left join organisations
        on employees.organisation_id = organisations.organisation_id

),

-- every standing hold covering the subject (retention_hold_coverage says who a hold keeps)
held_subjects as (

    select distinct
        organisation_id,
        subject_id

    from hold_coverage
    where subject_kind = 'employee'

),

final as (

    select
        triggers.organisation_id,
        rules.subject_kind,
        triggers.subject_id,
        rules.rule_id,
        case
            when triggers.trigger_on is null then null
            when triggers.trigger_on = triggers.leaving_date then 'leaving_date'
            else 'contract_end'
        end as triggered_by,
        triggers.trigger_on,
        {{ tinytracker.add_period(
            'triggers.trigger_on', 'rules.period_value', 'rules.period_unit'
        ) }} as due_on,
        triggers.actioned_on,
        held_subjects.subject_id is not null as is_held

    from triggers
    cross join rules
    left join held_subjects
        on
            triggers.organisation_id = held_subjects.organisation_id
            and triggers.subject_id = held_subjects.subject_id

)

select * from final
