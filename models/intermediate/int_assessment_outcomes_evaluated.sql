with

results as (

    select * from {{ ref('int_assessment_results_keyed') }}

),

pupil_years as (

    select * from {{ ref('int_pupil_years_characterised') }}

),

-- KS2 tests: a scaled score, or A (absent), B (working below the test), T (unable to access)
-- counted as not reaching the standard. M (missing), Q (left) and U (maladministration) say
-- nothing about attainment and leave the pupil out.
ks2_tests as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'KS2' as key_stage,
        case assessment
            when 'KS2_READ' then 'ks2_reading'
            when 'KS2_MATHS' then 'ks2_maths'
            else 'ks2_gps'
        end as measure,
        cast(result_score as {{ type_double() }}) as score,
        coalesce(result_score >= {{ var('assessment:ks2_expected_score') }}, false)
            as is_expected_standard,
        coalesce(result_score >= {{ var('assessment:ks2_high_score') }}, false)
            as is_high_standard
    from results
    where
        assessment in ('KS2_READ', 'KS2_MATHS', 'KS2_GPS')
        and (result_score is not null or result in ('A', 'B', 'T'))

),

-- KS2 writing is teacher assessed: EXS expected, GDS greater depth (the high standard).
ks2_writing as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'KS2' as key_stage,
        'ks2_writing' as measure,
        cast(null as {{ type_double() }}) as score,
        result in ('EXS', 'GDS') as is_expected_standard,
        result = 'GDS' as is_high_standard
    from results
    where assessment = 'KS2_WRITING_TA' and result is not null

),

rwm_components as (

    select * from ks2_tests
    where measure in ('ks2_reading', 'ks2_maths')

    union all

    select * from ks2_writing

),

-- Reading, writing and maths combined: expected in all three (high: 110+ in reading and
-- maths and greater depth in writing). Only pupils with all three outcomes count.
ks2_rwm as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'KS2' as key_stage,
        'ks2_rwm' as measure,
        cast(null as {{ type_double() }}) as score,
        min(case when is_expected_standard then 1 else 0 end) = 1 as is_expected_standard,
        min(case when is_high_standard then 1 else 0 end) = 1 as is_high_standard
    from rwm_components
    group by pupil_key, organisation_id, academic_year, academic_year_start_year
    having count(*) = 3

),

-- Phonics screening check (threshold var 'assessment:phonics_pass_mark'): the first check in
-- year 1, the retake in year 2 reported apart, as DfE does.
phonics as (

    select
        results.pupil_key,
        results.organisation_id,
        results.academic_year,
        results.academic_year_start_year,
        'KS1' as key_stage,
        case
            when pupil_years.year_group = '2' then 'phonics_retake'
            else 'phonics_check'
        end as measure,
        cast(results.result_score as {{ type_double() }}) as score,
        results.result_score >= {{ var('assessment:phonics_pass_mark') }}
            as is_expected_standard,
        cast(null as boolean) as is_high_standard
    from results
    left join pupil_years
        on
            results.pupil_key = pupil_years.pupil_key
            and results.academic_year_start_year = pupil_years.academic_year_start_year
    where results.assessment = 'PHONICS' and results.result_score is not null

),

-- Multiplication tables check: no pass mark; full marks (25) is the high standard DfE reports.
mtc as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'KS2' as key_stage,
        'mtc' as measure,
        cast(result_score as {{ type_double() }}) as score,
        cast(null as boolean) as is_expected_standard,
        result_score = 25 as is_high_standard
    from results
    where assessment = 'MTC' and result_score is not null

),

eyfsp_goals as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        count(*) as goals_recorded,
        sum(case when assessment <= 'EYFSP_E12' then 1 else 0 end) as prime_goals_recorded,
        sum(case when assessment <= 'EYFSP_E12' and result_score = 2 then 1 else 0 end)
            as prime_goals_expected,
        sum(case when result_score = 2 then 1 else 0 end) as goals_expected
    from results
    where assessment like 'EYFSP_E%'
    group by pupil_key, organisation_id, academic_year, academic_year_start_year

),

-- Good level of development: expected (2) in every goal E01-E12. Score: the number of the 17
-- goals at the expected level (DfE's "average number of goals"), when all 17 are recorded.
eyfsp as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'EYFS' as key_stage,
        'eyfsp_gld' as measure,
        case
            when goals_recorded = 17 then cast(goals_expected as {{ type_double() }})
        end as score,
        prime_goals_expected = 12 as is_expected_standard,
        cast(null as boolean) as is_high_standard
    from eyfsp_goals
    where prime_goals_recorded = 12

),

-- GCSE grades 9-1 (U scores 0): 4 is a standard pass, 5 a strong pass.
gcse as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'KS4' as key_stage,
        lower(assessment) as measure,
        cast(coalesce(result_score, 0) as {{ type_double() }}) as score,
        coalesce(result_score, 0) >= {{ var('assessment:gcse_standard_pass_grade') }}
            as is_expected_standard,
        coalesce(result_score, 0) >= {{ var('assessment:gcse_strong_pass_grade') }}
            as is_high_standard
    from results
    where assessment like 'GCSE_%' and (result_score is not null or result = 'U')

),

outcomes as (

    select * from ks2_tests
    union all
    select * from ks2_writing
    union all
    select * from ks2_rwm
    union all
    select * from phonics
    union all
    select * from mtc
    union all
    select * from eyfsp
    union all
    select * from gcse

),

final as (

    select * from outcomes

)

select * from final
