with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'left_pupils_2_academic_years'

),

active_holds as (

    select * from {{ ref('retention_active_holds') }}

),

triggers as (

    select
        organisation_id,
        pupil_id as subject_id,
        leaving_date as trigger_on,
        anonymised_on as actioned_on

    from pupils

),

-- an organisation hold, or a hold on this pupil
held_subjects as (

    select distinct
        triggers.organisation_id,
        triggers.subject_id

    from triggers
    inner join active_holds
        on
            triggers.organisation_id = active_holds.organisation_id
            and (
                active_holds.held_subject_kind = 'organisation'
                or (
                    active_holds.held_subject_kind = 'pupil'
                    and triggers.subject_id = active_holds.held_subject_id
                )
            )

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
