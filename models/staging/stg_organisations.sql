with

source as (

    select * from {{ source('raw', 'organisations') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        trust_id,
        ---------- strings
        name as organisation_name,
        organisation_type,
        mis_permission,
        ---------- booleans
        mis_permission = 'granted' as has_mis_permission,
        coalesce(share_with_trust, false) as has_trust_sharing_consent,
        ---------- dates
        contract_start,
        contract_end,
        anonymise_requested_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
