with

organisations as (

    select * from {{ ref('stg_organisations') }}

),

-- one row per pupil and academic year with a mark (the full_year rows): every mark is either
-- a possible session or a not-counted one, so the two add up to the marks recorded
attendance_years as (

    select * from {{ ref('int_pupil_attendance_summarised') }}
    where term = 'full_year'

),

assessment_results as (

    select * from {{ ref('int_assessment_results_keyed') }}

),

pupil_years as (

    select * from {{ ref('int_pupil_years_characterised') }}

),

pupils_per_year as (

    select
        organisation_id,
        academic_year,
        count(distinct pupil_key) as pupil_count
    from pupil_years
    group by organisation_id, academic_year

),

sessions_per_year as (

    select
        organisation_id,
        academic_year,
        sum(possible_sessions + not_counted_sessions) as attendance_sessions_recorded
    from attendance_years
    group by organisation_id, academic_year

),

assessments_per_year as (

    select
        organisation_id,
        academic_year,
        count(*) as assessments_recorded
    from assessment_results
    group by organisation_id, academic_year

),

summarised as (

    select
        pupils_per_year.organisation_id,
        organisations.organisation_type,
        pupils_per_year.academic_year,
        cast(pupils_per_year.pupil_count as {{ dbt.type_int() }}) as pupil_count,
        cast(coalesce(sessions_per_year.attendance_sessions_recorded, 0) as {{ dbt.type_int() }})
            as attendance_sessions_recorded,
        cast(coalesce(assessments_per_year.assessments_recorded, 0) as {{ dbt.type_int() }})
            as assessments_recorded
    from pupils_per_year
    inner join organisations
        on pupils_per_year.organisation_id = organisations.organisation_id
    left join sessions_per_year
        on
            pupils_per_year.organisation_id = sessions_per_year.organisation_id
            and pupils_per_year.academic_year = sessions_per_year.academic_year
    left join assessments_per_year
        on
            pupils_per_year.organisation_id = assessments_per_year.organisation_id
            and pupils_per_year.academic_year = assessments_per_year.academic_year

),

final as (

    select * from summarised

)

select * from final
