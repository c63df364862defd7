-- What it guards: every table, key, re-key and cleared column that seeds/policy/retention_actions
--   .csv names exists in the warehouse, so the plan and the apply step never aim at a column
--   that is not there (a typo would leave personal data in place).
-- When it matters: when the mapping seed or a raw table's DDL (tinytracker/core/warehouse.py)
--   changes.
-- How to resolve: fix the listed name in seeds/policy/retention_actions.csv, or add the column
--   to the landing contract and warehouse DDL.
{%- set problems = [] %}
{#- the seed is read only when it exists: linting compiles against an empty database #}
{%- if execute and load_relation(ref('retention_actions')) is not none %}
    {%- set mapping = run_query(
        'select rule_id, table_name, key_column, rekey_column, columns_to_clear, '
        ~ 'columns_to_clear_unless_report_author from ' ~ ref('retention_actions')
    ) %}
    {%- for row in mapping.rows %}
        {%- set schema_name, table_name = row['table_name'].split('.') %}
        {%- set relation = adapter.get_relation(
            database=target.database, schema=schema_name, identifier=table_name
        ) %}
        {%- if relation is none %}
            {%- do problems.append((row['rule_id'], row['table_name'], '', 'no such table')) %}
        {%- else %}
            {%- set existing = adapter.get_columns_in_relation(relation)
                | map(attribute='name') | map('lower') | list %}
            {%- set needed = ['organisation_id', row['key_column'].split('.')[0]] %}
            {%- if row['rekey_column'] %}{% do needed.append(row['rekey_column']) %}{% endif %}
            {%- for listed in [row['columns_to_clear'], row['columns_to_clear_unless_report_author']] %}
                {%- for column in (listed or '').split(',') if column | trim %}
                    {%- do needed.append(column | trim) %}
                {%- endfor %}
            {%- endfor %}
            {%- for column in needed if column | lower not in existing %}
                {%- do problems.append(
                    (row['rule_id'], row['table_name'], column, 'no such column')
                ) %}
            {%- endfor %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

with

retention_actions as (

    select rule_id from {{ ref('retention_actions') }}

),

problems as (

    {% for rule_id, table_name, column_name, problem in problems %}
    select
        '{{ rule_id }}' as rule_id,
        '{{ table_name }}' as table_name,
        '{{ column_name }}' as column_name,
        '{{ problem }}' as problem
    union all
    {% endfor %}
    select
        cast(null as {{ dbt.type_string() }}) as rule_id,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as problem

),

final as (

    select problems.*
    from problems
    where problems.rule_id in (select retention_actions.rule_id from retention_actions)

)

select * from final
