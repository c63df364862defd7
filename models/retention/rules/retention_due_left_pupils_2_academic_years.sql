with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

-- two academic years are counted from the end of the one the pupil left in
triggers as (

    select
        organisation_id,
        pupil_id as subject_id,
        leaving_date,
        {{ tinytracker.academic_year_end('leaving_date') }} as left_academic_year_ends_on,
        {{ tinytracker.next_academic_year_start('leaving_date') }} as next_academic_year_starts_on,
        anonymised_on

    from pupils

),

{{ tinytracker.retention_due(
    'left_pupils_2_academic_years',
    trigger_columns=['leaving_date'],
    period_starts_on='next_academic_year_starts_on',
    actioned_on='anonymised_on',
    carry_columns=['left_academic_year_ends_on']
) }}
