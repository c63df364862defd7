-- What: no value in any mart is a pupil_key (or the MIS id it maps) from int_pupil_keys.
-- When it matters: the lineage test matches column names and declared lineage; a key that
-- reaches a mart under a new name (a "cohort code") is only caught by its values.
-- How to resolve: find the mart column in the failing row and aggregate the key away; marts
-- hold cells, never a row per pupil.
-- depends_on: {{ ref('int_pupil_keys') }}
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

pupil_keys as (

    select pupil_key as identifier from {{ ref('int_pupil_keys') }}

),

{% if scans | length == 0 -%}
    findings as (

        select
            cast(null as {{ dbt.type_string() }}) as mart,
            cast(null as {{ dbt.type_string() }}) as column_name,
            identifier as column_value
        from pupil_keys
        where 1 = 0

    )
{%- else -%}
    findings as (

        {%- for mart, relation, column_name in scans %}
            select distinct
                '{{ mart }}' as mart,
                '{{ column_name }}' as column_name,
                published.{{ column_name }} as column_value
            from {{ relation }} as published
            inner join pupil_keys
                on published.{{ column_name }} = pupil_keys.identifier
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}

    )
{%- endif %}

select * from findings
