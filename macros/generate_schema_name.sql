{#- Custom schemas are used exactly as named (raw, staging, retention, marts, audit, ...),
    not prefixed with the target schema: analysts and the DPO query `marts.x`, not `main_marts.x`.

    var `retention_schema` (unset normally) moves the retention models (models/retention) into
    another schema: `tinytracker retention plan` builds its dry run with
    retention_schema = retention_dry_run, so a plan for a simulated date never replaces the
    retention.retention_status and retention.retention_plan the DPO reads. Seeds and staging
    stay where they are (they do not depend on as_of), and refs between retention models
    follow the var, so the dry-run plan reads the dry-run statuses. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set retention_schema = var('retention_schema', none) -%}
    {%- if retention_schema and node.resource_type == 'model'
        and node.fqn | length > 2 and node.fqn[1] == 'retention' -%}
        {{ retention_schema | trim }}
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
