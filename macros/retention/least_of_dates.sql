{#- The earliest of several date expressions, ignoring nulls; null only when every input is
    null (spec: "least ignores nulls; when every input is null the rule has no due_on").
    SQL's least() is null-propagating on some engines (Snowflake, BigQuery) and
    null-ignoring on others (DuckDB, Postgres, Spark), so the default coalesces each input
    with the others first: the result is the same everywhere. -#}
{% macro least_of_dates(date_exprs) -%}
    {{ return(adapter.dispatch('least_of_dates', 'tinytracker')(date_exprs)) }}
{%- endmacro %}

{% macro default__least_of_dates(date_exprs) -%}
    {%- if date_exprs | length == 1 -%}
        {{ date_exprs[0] }}
    {%- else -%}
        least(
        {%- for expr in date_exprs %}
            {%- set others = date_exprs | reject('equalto', expr) | list %}
            coalesce({{ expr }}, {{ others | join(', ') }}){{ ',' if not loop.last }}
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}
