with

retention_status as (

    select * from {{ ref('retention_status') }}

),

-- overdue means due and not held: held data past its due_on is kept lawfully and counted
-- apart, so the DPO never reads a hold as a retention failure (overdue_personal_data.sql)
flagged as (

    select
        *,
        status = 'due' as is_overdue,
        status = 'on_hold' and due_on <= as_of as is_held_past_due,
        case
            when status = 'due'
                then
                    {{ dbt.datediff('due_on', 'as_of', 'day') }}
        end as days_overdue

    from retention_status

),

final as (

    select
        organisation_id,
        rule_id,
        action,
        status,
        as_of,
        count(*) as subject_count,
        min(case when is_overdue then due_on end) as oldest_overdue_due_on,
        max(days_overdue) as max_days_overdue,
        count(case when is_held_past_due then subject_id end) as held_past_due_count,
        min(case when is_held_past_due then due_on end) as oldest_held_past_due_on,
        max(backups_clear_on) as latest_backups_clear_on

    from flagged
    group by organisation_id, rule_id, action, status, as_of

)

select * from final
