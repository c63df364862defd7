with

source as (

    select * from {{ source('raw', 'pupil_contacts') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        contact_id,
        pupil_id,
        ---------- strings
        forename,
        surname,
        relationship,
        email,
        phone,
        address,
        ---------- numbers
        priority as contact_priority,
        _loaded_at as loaded_at

    from source

)

select * from renamed
