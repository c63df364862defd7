with

attendance as (

    select * from {{ ref('int_pupil_attendance_summarised') }}

),

pupil_groups as (

    select * from {{ ref('int_pupil_years_grouped') }}

),

-- A pupil with no possible session in the period (only not-counted codes) has no rate.
pupil_periods as (

    select
        attendance.organisation_id,
        attendance.academic_year,
        attendance.term,
        pupil_groups.key_stage,
        pupil_groups.group_type,
        pupil_groups.group_value,
        attendance.possible_sessions,
        attendance.attended_sessions,
        attendance.authorised_absence_sessions,
        attendance.unauthorised_absence_sessions,
        attendance.absence_sessions,
        attendance.is_persistently_absent,
        attendance.is_severely_absent
    from attendance
    inner join pupil_groups
        on
            attendance.pupil_key = pupil_groups.pupil_key
            and attendance.academic_year = pupil_groups.academic_year
    where attendance.possible_sessions > 0

),

{#- The published rates, and what the disclosure rules read: the pupils with each binary
    outcome, and each session sum with its largest and two largest pupil contributions. #}
{%- set measures %}
        count(*) as pupil_count,
        round(100.0 * sum(attended_sessions) / sum(possible_sessions), 1) as attendance_rate,
        round(100.0 * sum(authorised_absence_sessions) / sum(possible_sessions), 1)
            as authorised_absence_rate,
        round(100.0 * sum(unauthorised_absence_sessions) / sum(possible_sessions), 1)
            as unauthorised_absence_rate,
        round(100.0 * sum(absence_sessions) / sum(possible_sessions), 1)
            as overall_absence_rate,
        round(
            100.0 * sum(case when is_persistently_absent then 1 else 0 end) / count(*), 1
        ) as persistent_absence_rate,
        round(
            100.0 * sum(case when is_severely_absent then 1 else 0 end) / count(*), 1
        ) as severe_absence_rate,
        sum(case when is_persistently_absent then 1 else 0 end) as persistently_absent_pupils,
        sum(case when is_severely_absent then 1 else 0 end) as severely_absent_pupils,
        sum(attended_sessions) as attended_sessions,
        max(attended_sessions) as attended_sessions_largest,
        {{ top_two_sum('attended_sessions') }} as attended_sessions_two_largest,
        sum(absence_sessions) as absence_sessions,
        max(absence_sessions) as absence_sessions_largest,
        {{ top_two_sum('absence_sessions') }} as absence_sessions_two_largest,
        sum(authorised_absence_sessions) as authorised_absence_sessions,
        max(authorised_absence_sessions) as authorised_absence_sessions_largest,
        {{ top_two_sum('authorised_absence_sessions') }} as authorised_absence_sessions_two_largest,
        sum(unauthorised_absence_sessions) as unauthorised_absence_sessions,
        max(unauthorised_absence_sessions) as unauthorised_absence_sessions_largest,
        {{ top_two_sum('unauthorised_absence_sessions') }}
            as unauthorised_absence_sessions_two_largest
{%- endset %}

key_stage_cells as (

    select
        organisation_id,
        academic_year,
        term,
        key_stage,
        group_type,
        group_value,
        {{ measures }}
    from pupil_periods
    group by organisation_id, academic_year, term, key_stage, group_type, group_value

),

all_key_stage_cells as (

    select
        organisation_id,
        academic_year,
        term,
        'all' as key_stage,
        group_type,
        group_value,
        {{ measures }}
    from pupil_periods
    group by organisation_id, academic_year, term, group_type, group_value

),

cells as (

    select * from key_stage_cells
    union all
    select * from all_key_stage_cells

),

suppressed as (

    {{ suppress_small_cells(
        'cells',
        partition_by=['organisation_id', 'academic_year', 'term'],
        breakdown='key_stage',
        measures=[
            'attendance_rate',
            'authorised_absence_rate',
            'unauthorised_absence_rate',
            'overall_absence_rate',
            'persistent_absence_rate',
            'severe_absence_rate',
        ],
        measure_rules=[
            {
                'measures': ['attendance_rate', 'overall_absence_rate'],
                'dominance': ['attended_sessions', 'absence_sessions'],
            },
            {
                'measures': ['authorised_absence_rate', 'unauthorised_absence_rate'],
                'dominance': ['authorised_absence_sessions', 'unauthorised_absence_sessions'],
                'after': ['overall_absence_rate'],
            },
            {
                'measures': ['persistent_absence_rate'],
                'shares': [
                    {'count': 'persistently_absent_pupils', 'of': 'pupil_count', 'adverse': 'all'}
                ],
            },
            {
                'measures': ['severe_absence_rate'],
                'shares': [
                    {'count': 'severely_absent_pupils', 'of': 'pupil_count', 'adverse': 'all'}
                ],
            },
        ],
    ) }}

),

final as (

    select
        organisation_id,
        academic_year,
        term,
        key_stage,
        group_type,
        group_value,
        cast(pupil_count as {{ dbt.type_int() }}) as pupil_count,
        cast(attendance_rate as {{ type_double() }}) as attendance_rate,
        cast(authorised_absence_rate as {{ type_double() }}) as authorised_absence_rate,
        cast(unauthorised_absence_rate as {{ type_double() }}) as unauthorised_absence_rate,
        cast(overall_absence_rate as {{ type_double() }}) as overall_absence_rate,
        cast(persistent_absence_rate as {{ type_double() }}) as persistent_absence_rate,
        cast(severe_absence_rate as {{ type_double() }}) as severe_absence_rate,
        is_suppressed
    from suppressed

)

select * from final
