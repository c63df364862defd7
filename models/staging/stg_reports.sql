with

source as (

    select * from {{ source('raw', 'reports') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        report_id,
        pupil_id,
        author_employee_id,
        ---------- strings
        title,
        ---------- dates
        issued_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
