with

source as (

    select * from {{ source('raw', 'correspondence') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        correspondence_id,
        subject_id,
        ---------- strings
        subject_kind,
        channel,
        summary,
        ---------- dates
        sent_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
