{#- One fixed-width value per combination of `columns` (a list of column names), equal for
    equal combinations (nulls included), for grouping a key whose own values are long strings
    (test unique_combination_of_columns). Different combinations may share a hash: a caller
    must confirm on the columns themselves. Never a surrogate key: a hash of an identifier is
    still the identifier. -#}
{% macro key_hash(columns) %}
    {{- return(adapter.dispatch('key_hash', 'tinytracker')(columns)) -}}
{% endmacro %}

{% macro default__key_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')"
        ) -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro duckdb__key_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}
