{#- An 8-byte floating-point type for rates and scores. dbt.type_float() is a 4-byte FLOAT
    in DuckDB, which turns a published 94.1 into 94.0999984741211. -#}
{% macro type_double() %}
    {{- return(adapter.dispatch('type_double', 'tinytracker')()) -}}
{% endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}
