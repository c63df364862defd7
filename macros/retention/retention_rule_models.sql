{#- The rule models retention_rule_subjects unions: retention_due_<rule_id> for every rule of
    seeds/policy/retention_rules.csv (docs: macros/retention/macros.md, retention_rule_models).
    dbt draws its graph while parsing, when `graph` is still empty, so the names come from
    seeded_retention_rule_models() (generated from the seed); once the graph exists they are
    checked against the models tagged retention_rule (every model in models/retention/rules),
    and a mismatch stops the build with the command that fixes it. -#}
{% macro retention_rule_models() -%}
    {%- set seeded = tinytracker.seeded_retention_rule_models() -%}
    {%- if execute -%}
        {%- set tagged = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and 'retention_rule' in node.tags -%}
                {%- do tagged.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if tagged | sort != seeded | sort -%}
            {{ exceptions.raise_compiler_error(
                "The rule models (tagged retention_rule: models/retention/rules) are "
                ~ (tagged | sort | join(', ')) ~ ", but seeds/policy/retention_rules.csv names "
                ~ (seeded | sort | join(', ')) ~ ". Give every rule its model "
                ~ "models/retention/rules/retention_due_<rule_id>.sql, then run "
                ~ "`python -m tinytracker.retention.generate` to regenerate "
                ~ "macros/retention/seeded_retention_rule_models.sql (docs/adding-a-rule.md)."
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(seeded) }}
{%- endmacro %}
