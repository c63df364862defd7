{#- Who every standing legal hold covers: the one place the project says so (interp.
    legal_hold). Every rule model (macro retention_due) marks a subject held when it has a row
    here, and the erasure engine re-reads this view inside an apply's transaction (a view, so a
    hold placed after the plan was built still counts). -#}

with

active_holds as (

    select * from {{ ref('retention_active_holds') }}

),

pupils as (

    select * from {{ ref('stg_pupils') }}

),

pupil_contacts as (

    select * from {{ ref('stg_pupil_contacts') }}

),

employees as (

    select * from {{ ref('stg_employees') }}

),

correspondence as (

    select * from {{ ref('stg_correspondence') }}

),

setup_imports as (

    select * from {{ ref('stg_setup_imports') }}

),

-- every subject a retention rule can act on, by the kind its rule names
subjects as (

    select
        organisation_id,
        'pupil' as subject_kind,
        pupil_id as subject_id

    from pupils

    union all

    select
        organisation_id,
        'pupil_contact' as subject_kind,
        contact_id as subject_id

    from pupil_contacts

    union all

    select
        organisation_id,
        'employee' as subject_kind,
        employee_id as subject_id

    from employees

    union all

    select
        organisation_id,
        'correspondence' as subject_kind,
        correspondence_id as subject_id

    from correspondence

    union all

    select distinct
        organisation_id,
        'setup_import' as subject_kind,
        import_id as subject_id

    from setup_imports

),

-- an organisation hold covers everything of the organisation
organisation_holds as (

    select
        subjects.organisation_id,
        subjects.subject_kind,
        subjects.subject_id,
        active_holds.hold_id,
        'organisation' as covered_through

    from subjects
    inner join active_holds
        on subjects.organisation_id = active_holds.organisation_id
    where active_holds.held_subject_kind = 'organisation'

),

-- a hold on a pupil or employee covers that person, and a pupil's hold covers their contacts
held_people as (

    select
        organisation_id,
        held_subject_kind as subject_kind,
        held_subject_id as subject_id,
        hold_id,
        held_subject_kind as covered_through

    from active_holds
    where held_subject_kind in ('pupil', 'employee')

    union all

    select
        active_holds.organisation_id,
        'pupil_contact' as subject_kind,
        pupil_contacts.contact_id as subject_id,
        active_holds.hold_id,
        'pupil' as covered_through

    from active_holds
    inner join pupil_contacts
        on
            active_holds.organisation_id = pupil_contacts.organisation_id
            and active_holds.held_subject_id = pupil_contacts.pupil_id
    where active_holds.held_subject_kind = 'pupil'

),

-- correspondence is held with the person it is about (a held pupil, one of their contacts,
-- or a held employee); setup files are not attributed to one person
correspondence_about_held_people as (

    select
        correspondence.organisation_id,
        'correspondence' as subject_kind,
        correspondence.correspondence_id as subject_id,
        held_people.hold_id,
        held_people.covered_through

    from correspondence
    inner join held_people
        on
            correspondence.organisation_id = held_people.organisation_id
            and correspondence.subject_id = held_people.subject_id
            and case lower(correspondence.subject_kind)
                when 'contact' then 'pupil_contact'
                else lower(correspondence.subject_kind)
            end = held_people.subject_kind

),

final as (

    select * from organisation_holds
    union all
    select * from held_people
    union all
    select * from correspondence_about_held_people

)

select * from final
