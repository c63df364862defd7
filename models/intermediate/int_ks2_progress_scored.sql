with

outcomes as (

    select * from {{ ref('int_assessment_outcomes_evaluated') }}

),

ks2_scores as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        case measure when 'ks2_reading' then 'reading' else 'maths' end as subject,
        score as scaled_score
    from outcomes
    where measure in ('ks2_reading', 'ks2_maths') and score is not null

),

-- Prior attainment bands, one family per earlier statutory assessment. Bands of different
-- families are never compared with each other.
prior_attainment as (

    select
        pupil_key,
        academic_year_start_year,
        case measure
            when 'phonics_check' then 1
            when 'eyfsp_gld' then 2
            else 3
        end as source_preference,
        case
            when measure = 'phonics_check' and score >= 36 then 'phonics:36-40'
            when measure = 'phonics_check' and score >= 32 then 'phonics:32-35'
            when measure = 'phonics_check' and score >= 24 then 'phonics:24-31'
            when measure = 'phonics_check' then 'phonics:0-23'
            when measure = 'eyfsp_gld' and is_expected_standard then 'eyfsp:gld'
            when measure = 'eyfsp_gld' then 'eyfsp:not_gld'
            when score = 25 then 'mtc:25'
            when score >= 20 then 'mtc:20-24'
            when score >= 13 then 'mtc:13-19'
            else 'mtc:0-12'
        end as prior_attainment_band
    from outcomes
    where measure in ('phonics_check', 'eyfsp_gld', 'mtc')

),

-- The pupil's band from the preferred earlier assessment at the same organisation (phonics
-- check, then EYFSP, then MTC; the earliest sitting if there are several).
banded as (

    select
        ks2_scores.pupil_key,
        ks2_scores.organisation_id,
        ks2_scores.academic_year,
        ks2_scores.academic_year_start_year,
        ks2_scores.subject,
        ks2_scores.scaled_score,
        prior_attainment.prior_attainment_band,
        row_number() over (
            partition by ks2_scores.pupil_key, ks2_scores.subject, ks2_scores.academic_year
            order by
                prior_attainment.source_preference,
                prior_attainment.academic_year_start_year
        ) as prior_preference
    from ks2_scores
    inner join prior_attainment
        on
            ks2_scores.pupil_key = prior_attainment.pupil_key
            and ks2_scores.academic_year_start_year
            > prior_attainment.academic_year_start_year

),

-- The reference: every pupil in the warehouse with the same band, subject and year.
band_references as (

    select
        academic_year,
        subject,
        prior_attainment_band,
        avg(scaled_score) as band_average_scaled_score,
        count(*) as band_pupil_count
    from banded
    where prior_preference = 1
    group by academic_year, subject, prior_attainment_band

),

scored as (

    select
        banded.pupil_key,
        banded.organisation_id,
        banded.academic_year,
        banded.academic_year_start_year,
        banded.subject,
        banded.prior_attainment_band,
        banded.scaled_score,
        band_references.band_average_scaled_score,
        cast(band_references.band_pupil_count as {{ dbt.type_int() }}) as band_pupil_count,
        banded.scaled_score - band_references.band_average_scaled_score as progress_score
    from banded
    inner join band_references
        on
            banded.academic_year = band_references.academic_year
            and banded.subject = band_references.subject
            and banded.prior_attainment_band = band_references.prior_attainment_band
    where banded.prior_preference = 1

),

-- Spread of pupils' progress scores per subject and year across the warehouse, for the
-- marts' confidence intervals.
with_spread as (

    select
        *,
        stddev_samp(progress_score) over (partition by academic_year, subject)
            as progress_score_sd
    from scored

),

final as (

    select * from with_spread

)

select * from final
