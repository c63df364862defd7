with

retention_status as (

    select * from {{ ref('retention_status') }}

),

-- only calendar rules fall due; the ids of actions taken on request have no due_on
rules as (

    select * from {{ ref('retention_rules') }}

),

horizons as (

    select 30 as horizon_days
    union all
    select 90 as horizon_days
    union all
    select 365 as horizon_days

),

-- every organisation and rule the status knows, so a quiet window shows as 0, not as missing
organisation_rules as (

    select distinct
        retention_status.organisation_id,
        retention_status.rule_id,
        retention_status.action,
        retention_status.as_of

    from retention_status
    inner join rules
        on retention_status.rule_id = rules.rule_id

),

windows as (

    select
        organisation_rules.*,
        horizons.horizon_days,
        {{ tinytracker.add_days('organisation_rules.as_of', 1) }} as window_starts_on,
        {{ tinytracker.add_days('organisation_rules.as_of', 'horizons.horizon_days') }}
            as window_ends_on

    from organisation_rules
    cross join horizons

),

-- work still to come: not yet due (held or not), and the rule that will act on the subject
upcoming as (

    select * from retention_status
    where
        status in ('retained', 'on_hold')
        and is_winning_rule
        and due_on > as_of

),

final as (

    select
        windows.organisation_id,
        windows.rule_id,
        windows.action,
        windows.horizon_days,
        windows.window_starts_on,
        windows.window_ends_on,
        count(upcoming.subject_id) as subject_count,
        count(case when upcoming.is_held then upcoming.subject_id end) as held_subject_count,
        min(upcoming.due_on) as first_due_on,
        max(upcoming.backups_clear_on) as latest_backups_clear_on,
        windows.as_of

    from windows
    left join upcoming
        on
            windows.organisation_id = upcoming.organisation_id
            and windows.rule_id = upcoming.rule_id
            and upcoming.due_on between windows.window_starts_on and windows.window_ends_on
    group by
        windows.organisation_id,
        windows.rule_id,
        windows.action,
        windows.horizon_days,
        windows.window_starts_on,
        windows.window_ends_on,
        windows.as_of

)

select * from final
