with

organisation_years as (

    select * from {{ ref('int_organisation_years_summarised') }}

),

{#- The published figures, and each sum's largest and two largest organisations (what the
    dominance rule reads). #}
{%- set measures %}
        count(*) as organisation_count
        {%- for volume in ['pupil_count', 'attendance_sessions_recorded', 'assessments_recorded'] %},
        sum({{ volume }}) as {{ volume }},
        max({{ volume }}) as {{ volume }}_largest,
        {{ top_two_sum(volume) }} as {{ volume }}_two_largest
        {%- endfor %}
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
