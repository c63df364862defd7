-- What it guards: every rule id in seeds/policy/retention_rules.csv has its own retention model
--   (tag retention_rule, config meta rule_ids) and at least one data test on that model; and no
--   model claims a rule id the seed does not have (a typo would leave a rule unenforced).
-- When it matters: whenever a rule is added to or renamed in the seed, or a model is renamed.
-- How to resolve: add models/retention/retention_due_<rule_id>.sql with meta rule_ids and data
--   tests in _retention__models.yml, or fix the id in the seed or the model's meta.
{%- set modelled = [] %}
{%- set tested = [] %}
{%- if execute %}
    {%- set models_by_id = {} %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'model' and 'retention_rule' in node.tags %}
            {%- set rule_ids = node.config.get('meta', {}).get('rule_ids', []) %}
            {%- do models_by_id.update({node.unique_id: rule_ids}) %}
            {%- do modelled.extend(rule_ids) %}
        {%- endif %}
    {%- endfor %}
    {%- for node in graph.nodes.values() %}
        {%- if node.resource_type == 'test' and node.get('attached_node') in models_by_id %}
            {%- do tested.extend(models_by_id[node.attached_node]) %}
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
        'no retention model tagged retention_rule has it in meta rule_ids' as problem
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
        'a retention model names a rule id that is not in the seed' as problem
    from modelled_rules
    where
        modelled_rules.rule_id is not null
        and modelled_rules.rule_id not in (select retention_rules.rule_id from retention_rules)

)

select * from final
