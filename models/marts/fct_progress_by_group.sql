with

progress as (

    select * from {{ ref('int_ks2_progress_scored') }}

),

pupil_groups as (

    select * from {{ ref('int_pupil_years_grouped') }}

),

pupil_progress as (

    select
        progress.organisation_id,
        progress.academic_year,
        progress.subject,
        pupil_groups.group_type,
        pupil_groups.group_value,
        progress.progress_score,
        progress.progress_score_sd
    from progress
    inner join pupil_groups
        on
            progress.pupil_key = pupil_groups.pupil_key
            and progress.academic_year = pupil_groups.academic_year

),

-- 95% confidence interval as DfE draws it: average +/- 1.96 x (spread of all pupils'
-- progress scores in the subject and year) / sqrt(pupils in the cell).
cells as (

    select
        organisation_id,
        academic_year,
        subject,
        group_type,
        group_value,
        count(*) as pupil_count,
        round(avg(progress_score), 2) as average_progress_score,
        round(
            avg(progress_score) - 1.96 * max(progress_score_sd) / sqrt(count(*)), 2
        ) as progress_score_lower_ci,
        round(
            avg(progress_score) + 1.96 * max(progress_score_sd) / sqrt(count(*)), 2
        ) as progress_score_upper_ci
    from pupil_progress
    group by organisation_id, academic_year, subject, group_type, group_value

),

suppressed as (

    {{ suppress_small_cells(
        'cells',
        partition_by=['organisation_id', 'academic_year', 'subject'],
        measures=[
            'average_progress_score', 'progress_score_lower_ci', 'progress_score_upper_ci'
        ],
        measure_rules=[
            {
                'measures': [
                    'average_progress_score', 'progress_score_lower_ci', 'progress_score_upper_ci'
                ],
                'minimum_counts': {'pupil_count': var('min_average_size')},
            },
        ],
    ) }}

),

final as (

    select
        organisation_id,
        academic_year,
        subject,
        group_type,
        group_value,
        cast(pupil_count as {{ dbt.type_int() }}) as pupil_count,
        cast(average_progress_score as {{ type_double() }}) as average_progress_score,
        cast(progress_score_lower_ci as {{ type_double() }}) as progress_score_lower_ci,
        cast(progress_score_upper_ci as {{ type_double() }}) as progress_score_upper_ci,
        is_suppressed
    from suppressed

)

select * from final
