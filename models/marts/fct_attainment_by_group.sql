with

outcomes as (

    select * from {{ ref('int_assessment_outcomes_evaluated') }}

),

pupil_groups as (

    select * from {{ ref('int_pupil_years_grouped') }}

),

pupil_outcomes as (

    select
        outcomes.organisation_id,
        outcomes.academic_year,
        outcomes.key_stage,
        outcomes.measure,
        pupil_groups.group_type,
        pupil_groups.group_value,
        outcomes.score,
        outcomes.is_expected_standard,
        outcomes.is_high_standard
    from outcomes
    inner join pupil_groups
        on
            outcomes.pupil_key = pupil_groups.pupil_key
            and outcomes.academic_year = pupil_groups.academic_year

),

-- Rates over the pupils the measure defines a standard for (none for MTC's expected
-- standard); the average score over the pupils with a score (KS2 result codes have none).
cells as (

    select
        organisation_id,
        academic_year,
        key_stage,
        measure,
        group_type,
        group_value,
        count(*) as pupil_count,
        count(score) as scored_pupil_count,
        round(
            100.0
            * sum(case when is_expected_standard then 1 else 0 end)
            / nullif(count(is_expected_standard), 0),
            1
        ) as expected_standard_rate,
        round(
            100.0
            * sum(case when is_high_standard then 1 else 0 end)
            / nullif(count(is_high_standard), 0),
            1
        ) as high_standard_rate,
        round(avg(score), 1) as average_score,
        -- what the disclosure rules read (not published)
        sum(case when is_expected_standard then 1 else 0 end) as expected_standard_pupils,
        count(is_expected_standard) as expected_standard_assessed,
        sum(case when is_high_standard then 1 else 0 end) as high_standard_pupils,
        count(is_high_standard) as high_standard_assessed,
        sum(score) as score_points,
        max(score) as score_points_largest,
        {{ top_two_sum('score') }} as score_points_two_largest
    from pupil_outcomes
    group by organisation_id, academic_year, key_stage, measure, group_type, group_value

),

suppressed as (

    {{ suppress_small_cells(
        'cells',
        partition_by=['organisation_id', 'academic_year', 'key_stage', 'measure'],
        measures=['expected_standard_rate', 'high_standard_rate', 'average_score'],
        measure_rules=[
            {
                'measures': ['expected_standard_rate'],
                'shares': [{
                    'count': 'expected_standard_pupils',
                    'of': 'expected_standard_assessed',
                    'adverse': 'none',
                }],
            },
            {
                'measures': ['high_standard_rate'],
                'shares': [{'count': 'high_standard_pupils', 'of': 'high_standard_assessed'}],
            },
            {
                'measures': ['average_score'],
                'minimum_counts': {'scored_pupil_count': var('min_average_size')},
                'dominance': ['score_points'],
                'rank_by': 'scored_pupil_count',
            },
        ],
    ) }}

),

final as (

    select
        organisation_id,
        academic_year,
        key_stage,
        measure,
        group_type,
        group_value,
        cast(pupil_count as {{ dbt.type_int() }}) as pupil_count,
        cast(expected_standard_rate as {{ type_double() }}) as expected_standard_rate,
        cast(high_standard_rate as {{ type_double() }}) as high_standard_rate,
        cast(average_score as {{ type_double() }}) as average_score,
        is_suppressed
    from suppressed

)

select * from final
