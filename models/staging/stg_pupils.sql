with

source as (

    select * from {{ source('raw', 'pupils') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        pupil_id,
        upn,
        ---------- strings
        forename,
        surname,
        gender,
        address,
        postcode,
        email,
        phone,
        ethnicity,
        first_language,
        sen_provision,
        year_group,
        anonymised_by_rule_id,
        ---------- numbers
        -- the birth cohort outlives date_of_birth: recorded at landing, kept by anonymisation
        -- (tinytracker/erasure/cohort.py derives it)
        birth_academic_year,
        ---------- booleans
        fsm_eligible as is_fsm_eligible,
        coalesce({{ dbt.right('upn', 1) }} between 'A' and 'Z', false) as is_temporary_upn,
        anonymised_on is not null as is_anonymised,
        ---------- dates
        date_of_birth,
        admission_date,
        leaving_date,
        anonymised_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
