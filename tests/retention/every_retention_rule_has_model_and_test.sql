-- What it guards: every rule id in seeds/policy/retention_rules.csv has its own rule model,
--   retention_due_<rule_id> in models/retention/rules (tag retention_rule), with at least one
--   data test on it; and no rule model is named for a rule id the seed does not have (a typo
--   would leave a rule unenforced).
-- When it matters: whenever a rule is added to or renamed in the seed, or a model is renamed.
-- How to resolve: add models/retention/rules/retention_due_<rule_id>.sql and its YAML with a
--   data test (docs/adding-a-rule.md), or fix the id in the seed or the model's name.
{%- set prefix = 'retention_due_' %}
{%- set modelled = [] %}
{%- set tested = [] %}
{%- if execute %}
    {%- set models_by_id = {} %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'model' and 'retention_rule' in node.tags %}
            {%- set rule_id = node.name[prefix | length:] if node.name.startswith(prefix)
                else node.name %}
            {%- do models_by_id.update({node.unique_id: rule_id}) %}
            {%- do modelled.append(rule_id) %}
        {%- endif %}
    {%- endfor %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'test' and node.get('attached_node') in models_by_id %}
            {%- do tested.append(models_by_id[node.attached_node]) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

with

retention_rules as (

    select rule_id from {{ ref('retention_rules') }}

),

modelled_rules as (

    {% for rule_id in modelled | unique %}
        select '{{ rule_id }}' as rule_id
        union all
    {% endfor %}
    select cast(null as {{ dbt.type_string() }}) as rule_id

),

tested_rules as (

    {% for rule_id in tested | unique %}
        select '{{ rule_id }}' as rule_id
        union all
    {% endfor %}
    select cast(null as {{ dbt.type_string() }}) as rule_id

),

final as (

    select
        retention_rules.rule_id,
        'no model retention_due_<rule_id> in models/retention/rules' as problem
    from retention_rules
    where
        retention_rules.rule_id not in (
            select modelled_rules.rule_id from modelled_rules
            where modelled_rules.rule_id is not null
        )

    union all

    select
        retention_rules.rule_id,
        'its retention model has no data test' as problem
    from retention_rules
    where
        retention_rules.rule_id not in (
            select tested_rules.rule_id from tested_rules
            where tested_rules.rule_id is not null
        )

    union all

    select
        modelled_rules.rule_id,
        'a rule model is named for a rule id that is not in the seed' as problem
    from modelled_rules
    where
        modelled_rules.rule_id is not null
        and modelled_rules.rule_id not in (select retention_rules.rule_id from retention_rules)

)

select * from final
