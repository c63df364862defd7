{#- Whether `relation` is a view in the warehouse as the test runs, from dbt's relation cache
    (a query only when its schema is not cached yet). The subquery a test's `where` config
    makes of a relation is not one. -#}
{% macro is_view(relation) -%}
    {%- if relation is string -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none and found.is_view) }}
{%- endmacro %}
