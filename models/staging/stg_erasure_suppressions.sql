with

source as (

    select * from {{ source('audit', 'erasure_suppressions') }}

),

renamed as (

    -- subject_token (the keyed hash the loader matches on) is left out on purpose: it is
    -- never shown, and the surrogate_id is the only id an actioned subject has downstream.
    select
        ---------- ids
        organisation_id,
        surrogate_id,
        rule_id,
        run_id,
        ---------- strings
        subject_kind,
        ---------- dates
        actioned_on

    from source

)

select * from renamed
