{#- One row per pupil, academic year and reporting group the pupil belongs to. Within one
    group_type the group_values never overlap and cover every pupil (an 'unknown' value where
    the MIS has no answer), so they add up to the ('all', 'all') row: the additivity the
    marts' secondary suppression relies on. -#}
{%- set group_values = [
    ('all', "'all'"),
    ('fsm', "case when is_fsm_eligible then 'fsm' else 'not_fsm' end"),
    ('disadvantaged',
        "case when is_disadvantaged then 'disadvantaged' else 'not_disadvantaged' end"),
    ('sen', 'sen_provision'),
    ('eal', "case when is_eal then 'eal' when not is_eal then 'not_eal' else 'unknown' end"),
    ('sex', 'sex'),
    ('ethnicity_major_group', 'ethnicity_major_group'),
] %}

with

pupil_years as (

    select * from {{ ref('int_pupil_years_characterised') }}

),

grouped as (

    {% for group_type, group_value in group_values -%}
        select
            pupil_key,
            organisation_id,
            academic_year,
            academic_year_start_year,
            year_group,
            key_stage,
            '{{ group_type }}' as group_type,
            {{ group_value }} as group_value
        from pupil_years
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select * from grouped

)

select * from final
