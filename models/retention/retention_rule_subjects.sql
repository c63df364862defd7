{#- Every subject under every calendar rule: the rows of the rule models, one per rule of
    seeds/policy/retention_rules.csv (models/retention/rules; macro retention_rule_models says
    which). A new rule's model joins here with no edit to this file or to retention_status. -#}
{%- set rule_models = tinytracker.retention_rule_models() -%}

with

{% for rule_model in rule_models %}
    {{ rule_model }} as (

        select * from {{ ref(rule_model) }}

    ),

{% endfor %}

final as (

    {% for rule_model in rule_models %}
        select
            organisation_id,
            subject_kind,
            subject_id,
            rule_id,
            triggered_by,
            trigger_on,
            due_on,
            actioned_on,
            is_held
        from {{ rule_model }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
