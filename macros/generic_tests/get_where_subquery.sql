{#- dbt's hook for the relation a generic test reads, extended so a daily build's tests cost
    what changed. A model whose YAML sets `config: meta: daily_test_scope: <column>` (a column
    whose newest value marks the rows the latest load or build wrote: loaded_at, built_at) has
    its generic tests read only those rows, unless var `full_tests` is true (the weekly or CI
    build); the test's own `where` config still applies. Which guarantee the scoped form
    keeps is said in macros/generic_tests/macros.md. The grain test
    (unique_combination_of_columns) scopes itself (argument recent_column): a duplicate may
    pair a new row with an old one. Read when the test is compiled: no re-parse to switch. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scope = none -%}
    {%- if execute and model.attached_node and not tinytracker.full_tests()
        and model.test_metadata and model.test_metadata.name != 'unique_combination_of_columns' -%}
        {%- set tested = graph.nodes.get(model.attached_node) -%}
        {%- if tested is not none -%}
            {%- set scope = tested.config.meta.get('daily_test_scope') -%}
        {%- endif -%}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if scope -%}
        {%- do conditions.append(
            scope ~ ' = (select max(' ~ scope ~ ') from ' ~ relation ~ ')'
        ) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether this build runs every data test on every row (var full_tests: make dbt-test, the
    weekly build, `tinytracker build --full-tests`). -#}
{% macro full_tests() -%}
    {{ return(var('full_tests', false) | string | lower in ('true', '1', 'yes')) }}
{%- endmacro %}
