with

pupil_contacts as (

    select * from {{ ref('stg_pupil_contacts') }}

),

pupils as (

    select * from {{ ref('stg_pupils') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

-- (interp.) the pupil leaving or the contract ending, whichever is first
triggers as (

    select
        pupil_contacts.organisation_id,
        pupil_contacts.contact_id as subject_id,
        pupils.leaving_date,
        organisations.contract_end

    from pupil_contacts
    left join pupils
        on
            pupil_contacts.organisation_id = pupils.organisation_id
            and pupil_contacts.pupil_id = pupils.pupil_id
    left join organisations
        on pupil_contacts.organisation_id = organisations.organisation_id

),

{{ tinytracker.retention_due(
    'contacts_6m_after_removal',
    trigger_columns=['leaving_date', 'contract_end']
) }}
