with

retention_status as (

    select * from {{ ref('retention_status') }}

),

overdue as (

    select
        *,
        status in ('due', 'on_hold') as is_overdue,
        case
            when status in ('due', 'on_hold')
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
        max(backups_clear_on) as latest_backups_clear_on

    from overdue
    group by organisation_id, rule_id, action, status, as_of

)

select * from final
