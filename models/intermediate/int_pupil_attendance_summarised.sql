with

sessions as (

    select * from {{ ref('int_attendance_sessions_classified') }}

),

term_totals as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        sum(case when counts_as_possible then 1 else 0 end) as possible_sessions,
        sum(case when attendance_category = 'present' then 1 else 0 end) as present_sessions,
        sum(case when attendance_category = 'approved_activity' then 1 else 0 end)
            as approved_activity_sessions,
        sum(case when attendance_category = 'authorised' then 1 else 0 end)
            as authorised_absence_sessions,
        sum(case when attendance_category = 'unauthorised' then 1 else 0 end)
            as unauthorised_absence_sessions,
        sum(case when counts_as_possible then 0 else 1 end) as not_counted_sessions
    from sessions
    group by pupil_key, organisation_id, academic_year, academic_year_start_year, term

),

year_totals as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'full_year' as term,
        sum(possible_sessions) as possible_sessions,
        sum(present_sessions) as present_sessions,
        sum(approved_activity_sessions) as approved_activity_sessions,
        sum(authorised_absence_sessions) as authorised_absence_sessions,
        sum(unauthorised_absence_sessions) as unauthorised_absence_sessions,
        sum(not_counted_sessions) as not_counted_sessions
    from term_totals
    group by pupil_key, organisation_id, academic_year, academic_year_start_year

),

periods as (

    select * from term_totals
    union all
    select * from year_totals

),

rated as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        cast(possible_sessions as {{ dbt.type_int() }}) as possible_sessions,
        cast(present_sessions as {{ dbt.type_int() }}) as present_sessions,
        cast(approved_activity_sessions as {{ dbt.type_int() }})
            as approved_activity_sessions,
        cast(present_sessions + approved_activity_sessions as {{ dbt.type_int() }})
            as attended_sessions,
        cast(authorised_absence_sessions as {{ dbt.type_int() }})
            as authorised_absence_sessions,
        cast(unauthorised_absence_sessions as {{ dbt.type_int() }})
            as unauthorised_absence_sessions,
        cast(authorised_absence_sessions + unauthorised_absence_sessions as {{ dbt.type_int() }})
            as absence_sessions,
        cast(not_counted_sessions as {{ dbt.type_int() }}) as not_counted_sessions,
        100.0 * (present_sessions + approved_activity_sessions)
        / nullif(possible_sessions, 0) as attendance_rate,
        100.0 * (authorised_absence_sessions + unauthorised_absence_sessions)
        / nullif(possible_sessions, 0) as absence_rate
    from periods

),

flagged as (

    select
        *,
        absence_rate >= {{ var('attendance:persistent_absence_threshold') }}
            as is_persistently_absent,
        absence_rate >= {{ var('attendance:severe_absence_threshold') }}
            as is_severely_absent
    from rated

),

final as (

    select * from flagged

)

select * from final
