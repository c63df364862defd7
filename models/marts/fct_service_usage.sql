with

organisation_years as (

    select * from {{ ref('int_organisation_years_summarised') }}

),

{#- The published figures, and each sum's largest and two largest organisations (what the
    dominance rule reads). #}
{%- set measures %}
        count(*) as organisation_count,
        sum(pupil_count) as pupil_count,
        max(pupil_count) as pupil_count_largest,
        {{ top_two_sum('pupil_count') }} as pupil_count_two_largest,
        sum(attendance_sessions_recorded) as attendance_sessions_recorded,
        max(attendance_sessions_recorded) as attendance_sessions_recorded_largest,
        {{ top_two_sum('attendance_sessions_recorded') }}
            as attendance_sessions_recorded_two_largest,
        sum(assessments_recorded) as assessments_recorded,
        max(assessments_recorded) as assessments_recorded_largest,
        {{ top_two_sum('assessments_recorded') }} as assessments_recorded_two_largest
{%- endset %}

type_cells as (

    select
        academic_year,
        organisation_type,
        {{ measures }}
    from organisation_years
    group by academic_year, organisation_type

),

all_type_cells as (

    select
        academic_year,
        'all' as organisation_type,
        {{ measures }}
    from organisation_years
    group by academic_year

),

cells as (

    select * from type_cells
    union all
    select * from all_type_cells

),

suppressed as (

    {{ suppress_small_cells(
        'cells',
        partition_by=['academic_year'],
        breakdown='organisation_type',
        grouped=false,
        measures=[
            'organisation_count', 'attendance_sessions_recorded', 'assessments_recorded'
        ],
        minimum_counts={'organisation_count': var('min_organisations_per_cell')},
        dominance=['pupil_count'],
        measure_rules=[
            {
                'measures': ['attendance_sessions_recorded', 'assessments_recorded'],
                'dominance': ['attendance_sessions_recorded', 'assessments_recorded'],
            },
        ],
    ) }}

),

final as (

    select
        academic_year,
        organisation_type,
        cast(organisation_count as {{ dbt.type_int() }}) as organisation_count,
        cast(pupil_count as {{ dbt.type_int() }}) as pupil_count,
        cast(attendance_sessions_recorded as {{ dbt.type_bigint() }})
            as attendance_sessions_recorded,
        cast(assessments_recorded as {{ dbt.type_bigint() }}) as assessments_recorded,
        is_suppressed
    from suppressed

)

select * from final
