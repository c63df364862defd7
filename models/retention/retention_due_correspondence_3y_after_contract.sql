with

correspondence as (

    select * from {{ ref('stg_correspondence') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

pupil_contacts as (

    select * from {{ ref('stg_pupil_contacts') }}

),

rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = 'correspondence_3y_after_contract'

),

active_holds as (

    select * from {{ ref('retention_active_holds') }}

),

triggers as (

    select
        correspondence.organisation_id,
        correspondence.correspondence_id as subject_id,
        correspondence.subject_kind as about_kind,
        correspondence.subject_id as about_id,
        organisations.contract_end as trigger_on

    from correspondence
    left join organisations
        on correspondence.organisation_id = organisations.organisation_id

),

-- the pupil or employee a hold names: correspondence about a held pupil, about a contact of
-- a held pupil, or about a held employee is held with them (interp. legal_hold)
held_people as (

    select
        organisation_id,
        held_subject_kind as about_kind,
        held_subject_id as about_id

    from active_holds
    where held_subject_kind in ('pupil', 'employee')

    union all

    select
        active_holds.organisation_id,
        'contact' as about_kind,
        pupil_contacts.contact_id as about_id

    from active_holds
    inner join pupil_contacts
        on
            active_holds.organisation_id = pupil_contacts.organisation_id
            and active_holds.held_subject_id = pupil_contacts.pupil_id
    where active_holds.held_subject_kind = 'pupil'

),

held_subjects as (

    select
        triggers.organisation_id,
        triggers.subject_id

    from triggers
    inner join active_holds
        on
            triggers.organisation_id = active_holds.organisation_id
            and active_holds.held_subject_kind = 'organisation'

    union

    select
        triggers.organisation_id,
        triggers.subject_id

    from triggers
    inner join held_people
        on
            triggers.organisation_id = held_people.organisation_id
            and triggers.about_kind = held_people.about_kind
            and triggers.about_id = held_people.about_id

),

final as (

    select
        triggers.organisation_id,
        rules.subject_kind,
        triggers.subject_id,
        rules.rule_id,
        case when triggers.trigger_on is not null then 'contract_end' end as triggered_by,
        triggers.trigger_on,
        {{ tinytracker.add_period(
            'triggers.trigger_on', 'rules.period_value', 'rules.period_unit'
        ) }} as due_on,
        cast(null as date) as actioned_on,
        held_subjects.subject_id is not null as is_held

    from triggers
    cross join rules
    left join held_subjects
        on
            triggers.organisation_id = held_subjects.organisation_id
            and triggers.subject_id = held_subjects.subject_id

)

select * from final
