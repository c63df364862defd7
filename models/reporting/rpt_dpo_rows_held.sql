{#- Held now: rows per organisation and landing table, and how many of them are about
    anonymised subjects (kept under a random surrogate). Counts only. -#}
{%- set pupil_tables = [
    ('stg_attendance_sessions', 'raw.attendance_sessions'),
    ('stg_assessments', 'raw.assessments'),
    ('stg_sen_records', 'raw.sen_records'),
    ('stg_reports', 'raw.reports'),
] -%}
{%- set other_tables = [
    ('stg_pupil_contacts', 'raw.pupil_contacts', 'pupil_contact'),
    ('stg_correspondence', 'raw.correspondence', 'correspondence'),
    ('stg_setup_imports', 'raw.setup_imports', 'setup_import'),
    ('stg_quarantine', 'raw.quarantine', 'quarantined_row'),
] -%}

with

pupils as (

    select * from {{ ref('stg_pupils') }}

),

employees as (

    select * from {{ ref('stg_employees') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

counted as (

    select
        organisation_id,
        'raw.pupils' as table_name,
        'pupil' as subject_kind,
        count(*) as row_count,
        count(case when is_anonymised then 1 end) as anonymised_row_count

    from pupils
    group by organisation_id

    union all

    select
        organisation_id,
        'raw.employees' as table_name,
        'employee' as subject_kind,
        count(*) as row_count,
        count(case when is_anonymised then 1 end) as anonymised_row_count

    from employees
    group by organisation_id

    {% for model, table_name in pupil_tables %}

        union all

        -- rows about a pupil follow the pupil: anonymised rows carry its surrogate
        select
            {{ model }}.organisation_id,
            '{{ table_name }}' as table_name,
            'pupil' as subject_kind,
            count(*) as row_count,
            count(case when pupils.is_anonymised then 1 end) as anonymised_row_count

        from {{ ref(model) }} as {{ model }}
        left join pupils
            on
                {{ model }}.organisation_id = pupils.organisation_id
                and {{ model }}.pupil_id = pupils.pupil_id
        group by {{ model }}.organisation_id

    {% endfor %}

    {% for model, table_name, subject_kind in other_tables %}

        union all

        select
            organisation_id,
            '{{ table_name }}' as table_name,
            '{{ subject_kind }}' as subject_kind,
            count(*) as row_count,
            0 as anonymised_row_count

        from {{ ref(model) }}
        group by organisation_id

    {% endfor %}

),

final as (

    select
        counted.organisation_id,
        counted.table_name,
        counted.subject_kind,
        counted.row_count,
        counted.anonymised_row_count,
        evaluation.as_of

    from counted
    cross join evaluation

)

select * from final
