-- What: no value in any mart is a person's key or id: a pupil_key from int_pupil_keys, a
-- MIS pupil id (stg_pupils.pupil_id, including the surrogate ids of anonymised pupils), an
-- employee id or a teacher reference number (stg_employees).
-- When it matters: the lineage test matches column names and declared lineage; a key or id
-- that reaches a mart under a new name (a "cohort code") is only caught by its values.
-- How to resolve: find the mart column in the failing row and aggregate the key away; marts
-- hold cells, never a row per person.
-- depends_on: {{ ref('int_pupil_keys') }}
-- depends_on: {{ ref('stg_pupils') }}
-- depends_on: {{ ref('stg_employees') }}
-- depends_on: {{ ref('fct_attendance_by_group') }}
-- depends_on: {{ ref('fct_attainment_by_group') }}
-- depends_on: {{ ref('fct_progress_by_group') }}
-- depends_on: {{ ref('fct_service_usage') }}
{%- set scans = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.fqn | length > 2 and node.fqn[1] == 'marts' -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation is not none -%}
            {%- for column in adapter.get_columns_in_relation(relation) if column.is_string() -%}
                {%- do scans.append((node.name, relation, column.name)) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

with

identifiers as (

    select
        'pupil_key' as identifier_kind,
        pupil_key as identifier
    from {{ ref('int_pupil_keys') }}

    union all

    select
        'pupil_id' as identifier_kind,
        pupil_id as identifier
    from {{ ref('stg_pupils') }}

    union all

    select
        'employee_id' as identifier_kind,
        employee_id as identifier
    from {{ ref('stg_employees') }}

    union all

    select
        'teacher_number' as identifier_kind,
        teacher_number as identifier
    from {{ ref('stg_employees') }}
    where teacher_number is not null

),

{% if scans | length == 0 -%}
    findings as (

        select
            cast(null as {{ dbt.type_string() }}) as mart,
            cast(null as {{ dbt.type_string() }}) as column_name,
            identifier_kind,
            identifier as column_value
        from identifiers
        where 1 = 0

    )
{%- else -%}
    findings as (

        {%- for mart, relation, column_name in scans %}
            select distinct
                '{{ mart }}' as mart,
                '{{ column_name }}' as column_name,
                identifiers.identifier_kind,
                published.{{ column_name }} as column_value
            from {{ relation }} as published
            inner join identifiers
                on published.{{ column_name }} = identifiers.identifier
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}

    )
{%- endif %}

select * from findings
