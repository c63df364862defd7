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
        {%- set unseeded = tagged | reject('in', seeded) | sort -%}
        {%- set unmodelled = seeded | reject('in', tagged) | sort -%}
        {%- if unseeded or unmodelled -%}
            {{ exceptions.raise_compiler_error(
                "The rule models in models/retention/rules (tag retention_rule) and the rules "
                ~ "of seeds/policy/retention_rules.csv differ. Models the generated list "
                ~ "lacks: [" ~ (unseeded | join(', ')) ~ "]; listed rules without a model: ["
                ~ (unmodelled | join(', ')) ~ "]. Give every rule its model "
                ~ "models/retention/rules/retention_due_<rule_id>.sql, then run "
                ~ "`python -m tinytracker.retention.generate` to regenerate "
                ~ "macros/retention/seeded_retention_rule_models.sql (docs/adding-a-rule.md)."
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(seeded) }}
{%- endmacro %}
