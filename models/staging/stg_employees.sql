with

source as (

    select * from {{ source('raw', 'employees') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        employee_id,
        ---------- strings
        forename,
        surname,
        gender,
        email,
        phone,
        role,
        teaching_status,
        teacher_number,
        anonymised_by_rule_id,
        ---------- booleans
        anonymised_on is not null as is_anonymised,
        ---------- dates
        start_date,
        leaving_date,
        anonymised_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
