{#- Generated from seeds/policy/retention_rules.csv by
    `python -m tinytracker.retention.generate`: do not edit. The rule models
    retention_rule_subjects unions, one per rule; the macro retention_rule_models
    checks them against the models in models/retention/rules. -#}
{% macro seeded_retention_rule_models() -%}
    {{ return([
        'retention_due_correspondence_3y_after_contract',
        'retention_due_contacts_6m_after_removal',
        'retention_due_left_pupils_2_academic_years',
        'retention_due_pupils_2y_after_contract',
        'retention_due_setup_imports_1y_after_processing',
        'retention_due_employees_1m_after_leaving',
    ]) }}
{%- endmacro %}
