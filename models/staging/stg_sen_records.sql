with

source as (

    select * from {{ source('raw', 'sen_records') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        pupil_id,
        ---------- strings
        provision,
        primary_need,
        notes,
        ---------- booleans
        end_date is null as is_current,
        ---------- dates
        start_date,
        end_date,
        _loaded_at as loaded_at

    from source

)

select * from renamed
