with

correspondence as (

    select * from {{ ref('stg_correspondence') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

triggers as (

    select
        correspondence.organisation_id,
        correspondence.correspondence_id as subject_id,
        organisations.contract_end

    from correspondence
    left join organisations
        on correspondence.organisation_id = organisations.organisation_id

),

{{ tinytracker.retention_due(
    'correspondence_3y_after_contract',
    trigger_columns=['contract_end']
) }}
