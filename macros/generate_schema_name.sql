{#- Custom schemas are used exactly as named (raw, staging, retention, marts, audit, ...),
    not prefixed with the target schema: analysts and the DPO query `marts.x`, not `main_marts.x`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
