with

assessments as (

    select * from {{ ref('stg_assessments') }}

),

pupil_keys as (

    select * from {{ ref('int_pupil_keys') }}

),

-- The MIS id is used here only to find the pupil's key; it goes no further.
keyed as (

    select
        pupil_keys.pupil_key,
        assessments.organisation_id,
        assessments.academic_year,
        {{ academic_year_label_start_year('assessments.academic_year') }}
            as academic_year_start_year,
        assessments.assessment,
        assessments.result,
        -- Parsed here rather than read from stg_assessments.result_score, whose cast fails
        -- on result codes in DuckDB.
        {{ try_cast_integer('assessments.result') }} as result_score
    from assessments
    inner join pupil_keys
        on
            assessments.organisation_id = pupil_keys.organisation_id
            and assessments.pupil_id = pupil_keys.pupil_id

),

final as (

    select * from keyed

)

select * from final
