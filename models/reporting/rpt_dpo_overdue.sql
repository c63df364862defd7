{#- Due and held back: subjects past their due_on on as_of, per organisation and the rule that
    acts on them: overdue (status due: no hold keeps them, so a retention run should have
    acted; should be none) and held past due (on_hold: a standing hold keeps them lawfully).
    A subject counts once, under its winning rule. -#}
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

past_due as (

    select
        *,
        {{ dbt.datediff('due_on', 'as_of', 'day') }}
            as days_past_due

    from retention_status
    where
        is_winning_rule
        and due_on <= as_of
        and status in ('due', 'on_hold')

),

final as (

    select
        organisation_id,
        rule_id,
        action,
        count(case when status = 'due' then 1 end) as overdue_subject_count,
        min(case when status = 'due' then due_on end) as overdue_since,
        max(case when status = 'due' then days_past_due end) as max_days_overdue,
        count(case when status = 'on_hold' then 1 end) as held_past_due_subject_count,
        min(case when status = 'on_hold' then due_on end) as held_past_due_since,
        as_of

    from past_due
    group by organisation_id, rule_id, action, as_of

)

select * from final
