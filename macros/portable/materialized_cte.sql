{#- The keyword between a CTE's `as` and its query saying whether the engine computes it once
    however often the query reads it (`once`) or inlines it into each read. Test
    unique_combination_of_columns reads its CTE twice: once for a derived view, inlined for a
    table (a second scan costs less than holding tens of millions of keys). Empty where the
    engine has no such keyword: the engine then chooses, with the same result. -#}
{% macro materialized_cte(once) %}
    {{- return(adapter.dispatch('materialized_cte', 'tinytracker')(once)) -}}
{% endmacro %}

{% macro default__materialized_cte(once) -%}
{%- endmacro %}

{% macro duckdb__materialized_cte(once) -%}
    {{ 'materialized' if once else 'not materialized' }}
{%- endmacro %}
