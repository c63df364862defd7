{#- The shared skeleton of every calendar rule: what a rule model says after its `triggers` CTE
    (docs: macros/retention/macros.md, retention_due). The model keeps what differs: its
    import CTEs and one row per subject in `triggers`; this macro adds the rule's seed row,
    the due date, the hold and the columns every rule model has, and ends the query. -#}
{% macro retention_due(
    rule_id,
    trigger_columns,
    actioned_on=none,
    period_starts_on=none,
    due_on_request=none,
    carry_columns=[]
) -%}
    {%- if model.resource_type == 'model' and model.name != 'retention_due_' ~ rule_id -%}
        {{ exceptions.raise_compiler_error(
            "retention_due('" ~ rule_id ~ "') is called from model " ~ model.name
            ~ ": a rule's model must be named retention_due_<rule_id> (docs/adding-a-rule.md)"
        ) }}
    {%- endif -%}
    {{ return(adapter.dispatch('retention_due', 'tinytracker')(
        rule_id, trigger_columns, actioned_on, period_starts_on, due_on_request, carry_columns
    )) }}
{%- endmacro %}

{% macro default__retention_due(
    rule_id, trigger_columns, actioned_on, period_starts_on, due_on_request, carry_columns
) -%}
{%- set actioned_on_expr = 'trigger_dates.' ~ actioned_on if actioned_on
    else 'cast(null as date)' -%}
{%- set trigger_exprs = [] -%}
{%- for column in trigger_columns -%}
    {%- do trigger_exprs.append('triggers.' ~ column) -%}
{%- endfor -%}
rules as (

    select * from {{ ref('retention_rules') }}
    where rule_id = '{{ rule_id }}'

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

-- the earliest trigger starts the clock (nulls ignored)
trigger_dates as (

    select
        triggers.*,
        {{ tinytracker.least_of_dates(trigger_exprs) }} as trigger_on

    from triggers

),

-- the event that set trigger_on; on a tie, the one listed first in the rule model
earliest_triggers as (

    select
        trigger_dates.organisation_id,
        trigger_dates.subject_id,
        trigger_dates.trigger_on,
        case
            when trigger_dates.trigger_on is null then null
            {%- for column in trigger_columns %}
            when trigger_dates.trigger_on = trigger_dates.{{ column }} then '{{ column }}'
            {%- endfor %}
        end as triggered_by,
        {%- for column in carry_columns %}
        trigger_dates.{{ column }},
        {%- endfor %}
        {%- if period_starts_on %}
        trigger_dates.{{ period_starts_on }} as period_starts_on,
        {%- endif %}
        {%- if due_on_request %}
        trigger_dates.{{ due_on_request }} as requested_on,
        {%- endif %}
        {{ actioned_on_expr }} as actioned_on

    from trigger_dates

),

-- the rule's period from the seed, added to the trigger (or to the day the rule counts from)
due_dates as (

    select
        earliest_triggers.*,
        rules.subject_kind,
        rules.rule_id,
        {{ tinytracker.add_period(
            'earliest_triggers.period_starts_on' if period_starts_on
            else 'earliest_triggers.trigger_on',
            'rules.period_value',
            'rules.period_unit'
        ) }} as period_due_on

    from earliest_triggers
    cross join rules

),

-- every standing hold covering a subject of the rule's kind (retention_hold_coverage)
held_subjects as (

    select distinct
        hold_coverage.organisation_id,
        hold_coverage.subject_id

    from hold_coverage
    inner join rules
        on hold_coverage.subject_kind = rules.subject_kind

),

final as (

    select
        due_dates.organisation_id,
        due_dates.subject_kind,
        due_dates.subject_id,
        due_dates.rule_id,
        {%- if due_on_request %}
        -- the customer's request is itself the due date when it comes before trigger + period
        case
            when
                due_dates.requested_on is not null
                and (due_dates.period_due_on is null
                    or due_dates.requested_on < due_dates.period_due_on)
                then '{{ due_on_request }}'
            else due_dates.triggered_by
        end as triggered_by,
        case
            when
                due_dates.requested_on is not null
                and (due_dates.period_due_on is null
                    or due_dates.requested_on < due_dates.period_due_on)
                then due_dates.requested_on
            else due_dates.trigger_on
        end as trigger_on,
        {%- else %}
        due_dates.triggered_by,
        due_dates.trigger_on,
        {%- endif %}
        {%- for column in carry_columns %}
        due_dates.{{ column }},
        {%- endfor %}
        {%- if due_on_request %}
        {{ tinytracker.least_of_dates(['due_dates.period_due_on', 'due_dates.requested_on']) }}
            as due_on,
        {%- else %}
        due_dates.period_due_on as due_on,
        {%- endif %}
        due_dates.actioned_on,
        held_subjects.subject_id is not null as is_held

    from due_dates
    left join held_subjects
        on
            due_dates.organisation_id = held_subjects.organisation_id
            and due_dates.subject_id = held_subjects.subject_id

)

select * from final
{%- endmacro %}
