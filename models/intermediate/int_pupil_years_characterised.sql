with

pupils as (

    select * from {{ ref('int_pupils_characterised') }}

),

-- one row per pupil and academic year with a mark (the full_year rows), rather than the tens
-- of millions of marks themselves
attendance_years as (

    select * from {{ ref('int_pupil_attendance_summarised') }}
    where term = 'full_year'

),

assessment_results as (

    select * from {{ ref('int_assessment_results_keyed') }}

),

pupil_keys as (

    select * from {{ ref('int_pupil_keys') }}

),

sen_records as (

    select * from {{ ref('stg_sen_records') }}

),

year_groups as (

    select * from {{ ref('year_groups') }}

),

-- Every academic year in which the pupil has an attendance mark or an assessment result.
pupil_years as (

    select distinct
        pupil_key,
        academic_year_start_year
    from attendance_years

    union

    select distinct
        pupil_key,
        academic_year_start_year
    from assessment_results

),

organisation_latest_years as (

    select
        pupils.organisation_id,
        max(pupil_years.academic_year_start_year) as latest_academic_year_start_year
    from pupil_years
    inner join pupils
        on pupil_years.pupil_key = pupils.pupil_key
    group by pupils.organisation_id

),

-- The MIS records one year group per pupil: the one of the academic year the pupil left in,
-- or, while on roll, of the extract's year (the organisation's latest year with data).
recorded_year_group_years as (

    select
        pupils.pupil_key,
        pupils.recorded_year_group_sort_order,
        case
            when
                pupils.leaving_academic_year_start
                < organisation_latest_years.latest_academic_year_start_year
                then pupils.leaving_academic_year_start
            else organisation_latest_years.latest_academic_year_start_year
        end as recorded_academic_year_start_year
    from pupils
    inner join organisation_latest_years
        on pupils.organisation_id = organisation_latest_years.organisation_id

),

-- A pupil moves up one year group (one step of year_groups.sort_order) each academic year.
pupil_year_groups as (

    select
        pupil_years.pupil_key,
        pupil_years.academic_year_start_year,
        year_groups.year_group,
        coalesce(year_groups.key_stage, 'unknown') as key_stage
    from pupil_years
    inner join recorded_year_group_years
        on pupil_years.pupil_key = recorded_year_group_years.pupil_key
    left join year_groups
        on
            year_groups.sort_order
            = recorded_year_group_years.recorded_year_group_sort_order
            + pupil_years.academic_year_start_year
            - recorded_year_group_years.recorded_academic_year_start_year

),

-- The MIS id is used here only to find the pupil's key; it goes no further.
sen_episodes as (

    select
        pupil_keys.pupil_key,
        sen_records.provision,
        sen_records.start_date,
        sen_records.end_date
    from sen_records
    inner join pupil_keys
        on
            sen_records.organisation_id = pupil_keys.organisation_id
            and sen_records.pupil_id = pupil_keys.pupil_id

),

-- Highest provision (EHC plan over SEN support) of any episode overlapping the year.
sen_years as (

    select
        pupil_years.pupil_key,
        pupil_years.academic_year_start_year,
        max(case sen_episodes.provision when 'E' then 2 when 'K' then 1 else 0 end)
            as sen_rank
    from pupil_years
    inner join sen_episodes
        on
            pupil_years.pupil_key = sen_episodes.pupil_key
            and sen_episodes.start_date <= {{ date_from_parts(
                'pupil_years.academic_year_start_year + 1', 8, 31) }}
            and (
                sen_episodes.end_date is null
                or sen_episodes.end_date >= {{ date_from_parts(
                    'pupil_years.academic_year_start_year', 9, 1) }}
            )
    group by pupil_years.pupil_key, pupil_years.academic_year_start_year

),

pupils_with_sen_history as (

    select distinct pupil_key
    from sen_episodes

),

characterised as (

    select
        pupil_years.pupil_key,
        pupils.organisation_id,
        {{ academic_year_label('pupil_years.academic_year_start_year') }} as academic_year,
        pupil_years.academic_year_start_year,
        pupil_year_groups.year_group,
        pupil_year_groups.key_stage,
        case
            when pupils_with_sen_history.pupil_key is null
                then
                    case pupils.recorded_sen_provision
                        when 'E' then 'E'
                        when 'K' then 'K'
                        else 'none'
                    end
            when sen_years.sen_rank = 2 then 'E'
            when sen_years.sen_rank = 1 then 'K'
            else 'none'
        end as sen_provision,
        pupils.is_fsm_eligible,
        pupils.is_disadvantaged,
        pupils.is_eal,
        pupils.sex,
        pupils.ethnicity_major_group
    from pupil_years
    inner join pupils
        on pupil_years.pupil_key = pupils.pupil_key
    inner join pupil_year_groups
        on
            pupil_years.pupil_key = pupil_year_groups.pupil_key
            and pupil_years.academic_year_start_year
            = pupil_year_groups.academic_year_start_year
    left join sen_years
        on
            pupil_years.pupil_key = sen_years.pupil_key
            and pupil_years.academic_year_start_year = sen_years.academic_year_start_year
    left join pupils_with_sen_history
        on pupil_years.pupil_key = pupils_with_sen_history.pupil_key

),

final as (

    select * from characterised

)

select * from final
