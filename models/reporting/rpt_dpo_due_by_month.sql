{#- Due: subjects falling due in each of the next twelve calendar months, per organisation and
    rule, counted under the rule that will act on them (as rpt_retention_forecast does). -#}
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

upcoming as (

    select
        retention_status.organisation_id,
        retention_status.rule_id,
        retention_status.action,
        retention_status.due_on,
        retention_status.is_held,
        evaluation.as_of,
        cast({{ dbt.date_trunc('month', 'retention_status.due_on') }} as date)
            as month_starts_on

    from retention_status
    inner join evaluation
        on
            retention_status.due_on between evaluation.forecast_starts_on
            and evaluation.forecast_ends_on
    where
        retention_status.status in ('retained', 'on_hold')
        and retention_status.is_winning_rule

),

final as (

    select
        organisation_id,
        rule_id,
        action,
        month_starts_on,
        count(*) as subject_count,
        count(case when is_held then 1 end) as held_subject_count,
        min(due_on) as first_due_on,
        as_of

    from upcoming
    group by organisation_id, rule_id, action, month_starts_on, as_of

)

select * from final
