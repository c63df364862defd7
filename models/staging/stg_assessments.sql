with

source as (

    select * from {{ source('raw', 'assessments') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        pupil_id,
        ---------- strings
        academic_year,
        assessment,
        result,
        ---------- numbers
        {{ tinytracker.try_cast_integer('result') }} as result_score,
        ---------- dates
        assessed_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
