{#- Done: every retention run that changed something in the last twenty-four months, per rule,
    with the rows it changed, when the file was rewritten and when its data clears from the
    backups. audit.retention_runs has no staging model: it is read here only. -#}
with

retention_runs as (

    select * from {{ source('audit', 'retention_runs') }}

),

retention_log as (

    select * from {{ ref('stg_retention_log') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

applied_runs as (

    select
        retention_runs.run_id,
        retention_runs.as_of as run_as_of,
        retention_runs.requested_by,
        retention_runs.requested_by = 'erasure_request' as is_erasure_request,
        retention_runs.outcome,
        retention_runs.subjects_affected,
        retention_runs.started_at,
        cast(retention_runs.started_at as date) as run_on,
        retention_runs.backups_clear_on,
        retention_runs.physically_erased_at,
        evaluation.as_of

    from retention_runs
    inner join evaluation
        on
            cast(retention_runs.started_at as date) between evaluation.history_starts_on
            and evaluation.as_of
    where
        not retention_runs.is_dry_run
        and retention_runs.rows_affected > 0

),

rows_by_rule as (

    select
        run_id,
        rule_id,
        count(distinct table_name) as table_count,
        sum(rows_affected) as rows_affected

    from retention_log
    where not is_dry_run
    group by run_id, rule_id

),

final as (

    select
        applied_runs.run_id,
        applied_runs.run_on,
        cast({{ dbt.date_trunc('month', 'applied_runs.run_on') }} as date) as month_starts_on,
        applied_runs.run_as_of,
        applied_runs.requested_by,
        applied_runs.is_erasure_request,
        applied_runs.outcome,
        applied_runs.subjects_affected as run_subjects_affected,
        rows_by_rule.rule_id,
        rows_by_rule.table_count,
        rows_by_rule.rows_affected,
        applied_runs.physically_erased_at,
        applied_runs.backups_clear_on,
        coalesce(applied_runs.backups_clear_on <= applied_runs.as_of, false)
            as is_cleared_from_backups,
        applied_runs.as_of

    from applied_runs
    inner join rows_by_rule
        on applied_runs.run_id = rows_by_rule.run_id
    where rows_by_rule.rows_affected > 0

)

select * from final
