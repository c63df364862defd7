with

sessions as (

    select * from {{ ref('stg_attendance_sessions') }}

),

pupil_keys as (

    select * from {{ ref('int_pupil_keys') }}

),

attendance_codes as (

    select * from {{ ref('attendance_codes') }}

),

-- The MIS id is used here only to find the pupil's key; it goes no further.
keyed as (

    select
        pupil_keys.pupil_key,
        sessions.organisation_id,
        sessions.session_date,
        sessions.session,
        sessions.attendance_code
    from sessions
    inner join pupil_keys
        on
            sessions.organisation_id = pupil_keys.organisation_id
            and sessions.pupil_id = pupil_keys.pupil_id

),

-- A code counts by the set in force on the session's date: the 2024 set from 19 August 2024,
-- the older set (H, J, F, Y) before it. Open-ended validity bounds are null in the seed.
classified as (

    select
        keyed.pupil_key,
        keyed.organisation_id,
        keyed.session_date,
        keyed.session,
        keyed.attendance_code,
        attendance_codes.code is not null as is_code_in_force,
        coalesce(attendance_codes.category, 'not_in_force') as attendance_category,
        coalesce(attendance_codes.counts_as_possible, false) as counts_as_possible
    from keyed
    left join attendance_codes
        on
            keyed.attendance_code = attendance_codes.code
            and (
                attendance_codes.valid_from is null
                or keyed.session_date >= attendance_codes.valid_from
            )
            and (
                attendance_codes.valid_to is null
                or keyed.session_date <= attendance_codes.valid_to
            )

),

session_dates as (

    select distinct session_date
    from classified

),

-- Academic year and term per calendar date, worked out once per distinct date (a few hundred)
-- rather than once per mark (tens of millions).
session_calendar as (

    select
        session_date,
        {{ academic_year_label(academic_year_start_year('session_date')) }} as academic_year,
        {{ academic_year_start_year('session_date') }} as academic_year_start_year,
        {{ school_term('session_date') }} as term
    from session_dates

),

dated as (

    select
        classified.*,
        session_calendar.academic_year,
        session_calendar.academic_year_start_year,
        session_calendar.term
    from classified
    inner join session_calendar
        on classified.session_date = session_calendar.session_date

),

final as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        session_date,
        session,
        attendance_code,
        attendance_category,
        counts_as_possible,
        is_code_in_force
    from dated

)

select * from final
