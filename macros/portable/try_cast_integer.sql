{#- The integer value of a text expression, or null when it is not a whole number (KS2
    results mix scaled scores with codes such as A or B).

    Why not dbt.safe_cast: dbt-duckdb does not implement it, so the default falls back to a
    plain cast, which aborts the whole query on the first code. -#}
{% macro try_cast_integer(expr) %}
    {{- return(adapter.dispatch('try_cast_integer', 'tinytracker')(expr)) -}}
{% endmacro %}

{% macro default__try_cast_integer(expr) -%}
    {{ dbt.safe_cast(expr, dbt.type_int()) }}
{%- endmacro %}

{% macro duckdb__try_cast_integer(expr) -%}
    try_cast({{ expr }} as {{ dbt.type_int() }})
{%- endmacro %}
