{#- True when a string expression matches a regular expression (RE2 / POSIX syntax). Used by
    the identifier-pattern scans of the marts; each warehouse spells regex matching its own
    way, so it is dispatch-shaped. `pattern` is a SQL-literal body (no surrounding quotes). -#}
{% macro regex_matches(expr, pattern) %}
    {{- return(adapter.dispatch('regex_matches', 'tinytracker')(expr, pattern)) -}}
{% endmacro %}

{#- Postgres: the ~ operator. -#}
{% macro default__regex_matches(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}
