{#- A random surrogate key (a UUID as text) for one row, drawn afresh for every row.

    Why random and not a hash: a hash of an identifier (UPN, MIS id) can be recomputed by
    anyone who holds the identifier, so it stays personal data (ICO guidance on
    pseudonymisation). A random key links to a person only through the one key-map table
    that holds it (int_pupil_keys); once that row is deleted, nothing leads back.
    Dispatch-shaped so another warehouse (e.g. Spark: uuid()) can add its own. -#}
{% macro random_surrogate_key() %}
    {{- return(adapter.dispatch('random_surrogate_key', 'tinytracker')()) -}}
{% endmacro %}

{#- Postgres 13+ and most ANSI-leaning warehouses call it gen_random_uuid(). -#}
{% macro default__random_surrogate_key() -%}
    cast(gen_random_uuid() as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__random_surrogate_key() -%}
    cast(uuid() as {{ dbt.type_string() }})
{%- endmacro %}
