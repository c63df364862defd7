{#- One output row per element of a list (array) column, in a select list: audit.shares keeps
    the organisations of an export as lists. Postgres and DuckDB spell it unnest; Spark
    explode. -#}
{% macro unnest_list(column) -%}
    {{ return(adapter.dispatch('unnest_list', 'tinytracker')(column)) }}
{%- endmacro %}

{% macro default__unnest_list(column) -%}
    unnest({{ column }})
{%- endmacro %}

{% macro spark__unnest_list(column) -%}
    explode({{ column }})
{%- endmacro %}
