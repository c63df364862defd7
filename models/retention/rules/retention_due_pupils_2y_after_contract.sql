with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

-- the contract end, or the customer's request for anonymisation if that comes sooner
triggers as (

    select
        pupils.organisation_id,
        pupils.pupil_id as subject_id,
        organisations.contract_end,
        organisations.anonymise_requested_on,
        pupils.anonymised_on

    from pupils
    left join organisations
        on pupils.organisation_id = organisations.organisation_id

),

{{ tinytracker.retention_due(
    'pupils_2y_after_contract',
    trigger_columns=['contract_end'],
    due_on_request='anonymise_requested_on',
    actioned_on='anonymised_on'
) }}
