-- What: no text value in any mart looks like a UPN, an email address or a UK postcode (in
-- any letter case: a lower-cased UPN is still a UPN).
-- When it matters: marts are copied to the analyst database; a value like these means
-- personal data slipped past the intermediate layer (e.g. a free-text column grouped on).
-- How to resolve: find the column in the failing row and trace it upstream; aggregate or
-- drop it before the mart. Never widen the patterns to make the test pass.
-- depends_on: {{ ref('fct_attendance_by_group') }}
-- depends_on: {{ ref('fct_attainment_by_group') }}
-- depends_on: {{ ref('fct_progress_by_group') }}
-- depends_on: {{ ref('fct_service_usage') }}
{#- Every model under models/marts that exists in the warehouse is scanned, not only the four
    named above (they are named so that dbt builds them before this test runs). -#}
{%- set patterns = {
    'upn': '(?i)\\b[A-Z][0-9]{11}[0-9A-Z]\\b',
    'email': '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+',
    'postcode': '(?i)\\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\\b',
} -%}
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

{% if scans | length == 0 -%}
    findings as (

        select
            cast(null as {{ dbt.type_string() }}) as mart,
            cast(null as {{ dbt.type_string() }}) as column_name,
            cast(null as {{ dbt.type_string() }}) as pattern,
            cast(null as {{ dbt.type_string() }}) as column_value
        where 1 = 0

    )
{%- else -%}
    findings as (

        {% for mart, relation, column_name in scans -%}
            {%- for pattern_name, pattern in patterns.items() %}
                select
                    '{{ mart }}' as mart,
                    '{{ column_name }}' as column_name,
                    '{{ pattern_name }}' as pattern,
                    {{ column_name }} as column_value
                from {{ relation }}
                where {{ regex_matches(column_name, pattern) }}
                {% if not loop.last %}union all{% endif %}
            {%- endfor %}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}

    )
{%- endif %}

select * from findings
