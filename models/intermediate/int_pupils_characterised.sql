with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

pupil_keys as (

    select * from {{ ref('int_pupil_keys') }}

),

ethnicity_codes as (

    select * from {{ ref('ethnicity_codes') }}

),

language_codes as (

    select * from {{ ref('language_codes') }}

),

year_groups as (

    select * from {{ ref('year_groups') }}

),

-- The MIS id is used here only to find the pupil's key; it goes no further.
keyed as (

    select
        pupil_keys.pupil_key,
        pupils.organisation_id,
        pupils.gender,
        pupils.ethnicity,
        pupils.first_language,
        pupils.is_fsm_eligible,
        pupils.sen_provision,
        pupils.year_group,
        pupils.leaving_date,
        pupils.is_anonymised
    from pupils
    inner join pupil_keys
        on
            pupils.organisation_id = pupil_keys.organisation_id
            and pupils.pupil_id = pupil_keys.pupil_id

),

characterised as (

    select
        keyed.pupil_key,
        keyed.organisation_id,
        coalesce(keyed.gender, 'U') as sex,
        coalesce(ethnicity_codes.major_group, 'Unclassified') as ethnicity_major_group,
        language_codes.is_eal,
        coalesce(keyed.is_fsm_eligible, false) as is_fsm_eligible,
        -- No FSM6 history or looked-after flag in the landing contract: current FSM
        -- eligibility stands in for "disadvantaged" (see the model description).
        coalesce(keyed.is_fsm_eligible, false) as is_disadvantaged,
        coalesce(keyed.sen_provision, 'N') as recorded_sen_provision,
        keyed.year_group as recorded_year_group,
        year_groups.sort_order as recorded_year_group_sort_order,
        {{ academic_year_start_year('keyed.leaving_date') }} as leaving_academic_year_start,
        keyed.is_anonymised
    from keyed
    left join ethnicity_codes
        on keyed.ethnicity = ethnicity_codes.code
    left join language_codes
        on keyed.first_language = language_codes.code
    left join year_groups
        on keyed.year_group = year_groups.year_group

),

final as (

    select * from characterised

)

select * from final
