with

employees as (

    select * from {{ ref('stg_employees') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

-- (interp.) leaving or the contract ending, whichever is first
triggers as (

    select
        employees.organisation_id,
        employees.employee_id as subject_id,
        employees.leaving_date,
        organisations.contract_end,
        employees.anonymised_on

    from employees
    left join organisations
        on employees.organisation_id = organisations.organisation_id

),

{{ tinytracker.retention_due(
    'employees_1m_after_leaving',
    trigger_columns=['leaving_date', 'contract_end'],
    actioned_on='anonymised_on'
) }}
