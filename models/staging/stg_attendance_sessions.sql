with

source as (

    select * from {{ source('raw', 'attendance_sessions') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        pupil_id,
        ---------- strings
        session,
        mark as attendance_code,
        ---------- dates
        session_date,
        _loaded_at as loaded_at

    from source

)

select * from renamed
