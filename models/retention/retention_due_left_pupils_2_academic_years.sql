with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'left_pupils_2_academic_years'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

triggers as (

    select
        organisation_id,
        pupil_id as subject_id,
        leaving_date as trigger_on,
        anonymised_on as actioned_on

    from pupils

),

-- every standing hold covering the subject (retention_hold_coverage says who a hold keeps)
held_subjects as (

    select distinct
        organisation_id,
        subject_id

    from hold_coverage
    where subject_kind = 'pupil'

),

final as (

    select
        triggers.organisation_id,
        rules.subject_kind,
        triggers.subject_id,
        rules.rule_id,
        case when triggers.trigger_on is not null then 'leaving_date' end as triggered_by,
        triggers.trigger_on,
        -- two academic years are counted from the end of the one the pupil left in
        {{ tinytracker.academic_year_end('triggers.trigger_on') }} as left_academic_year_ends_on,
        {{ tinytracker.add_period(
            tinytracker.next_academic_year_start('triggers.trigger_on'),
            'rules.period_value',
            'rules.period_unit'
        ) }} as due_on,
        triggers.actioned_on,
        held_subjects.subject_id is not null as is_held

    from triggers
    cross join rules
    left join held_subjects
        on
            triggers.organisation_id = held_subjects.organisation_id
            and triggers.subject_id = held_subjects.subject_id

)

select * from final
