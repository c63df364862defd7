{#- The keyword that makes a CTE be computed once however often the query reads it (test
    unique_combination_of_columns reads a derived view's keys twice). Empty where the engine
    has none: the CTE may then be computed per read, the same result at twice the cost. -#}
{% macro materialized_cte() %}
    {{- return(adapter.dispatch('materialized_cte', 'tinytracker')()) -}}
{% endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}
    materialized
{%- endmacro %}
