{#- Done: subjects anonymised or deleted per organisation, rule and calendar month over the
    last twenty-four months, erasure requests apart, with the day their data clears from the
    backups. Every actioned subject has one row in audit.erasure_suppressions (its token,
    rule, date and run), whichever rule or request actioned it. -#}
with

erasure_suppressions as (

    select * from {{ ref('stg_erasure_suppressions') }}

),

rule_ids as (

    select * from {{ ref('retention_rule_ids') }}

),

backups_period as (

    select
        period_value,
        period_unit

    from {{ ref('retention_general_clauses') }}
    where clause_id = 'backups_kept_90_days'

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

actioned as (

    select
        erasure_suppressions.organisation_id,
        erasure_suppressions.subject_kind,
        erasure_suppressions.rule_id,
        erasure_suppressions.actioned_on,
        rule_ids.action,
        rule_ids.defined_in = 'retention_request_rules' as is_erasure_request,
        cast({{ dbt.date_trunc('month', 'erasure_suppressions.actioned_on') }} as date)
            as month_starts_on,
        {{ tinytracker.add_period(
            'erasure_suppressions.actioned_on', 'backups_period.period_value',
            'backups_period.period_unit'
        ) }} as backups_clear_on,
        evaluation.as_of

    from erasure_suppressions
    inner join evaluation
        on
            erasure_suppressions.actioned_on between evaluation.history_starts_on
            and evaluation.as_of
    left join rule_ids
        on
            erasure_suppressions.rule_id = rule_ids.rule_id
            and erasure_suppressions.subject_kind = rule_ids.subject_kind
    cross join backups_period

),

final as (

    select
        organisation_id,
        rule_id,
        subject_kind,
        action,
        is_erasure_request,
        month_starts_on,
        count(*) as subject_count,
        min(actioned_on) as first_actioned_on,
        max(actioned_on) as last_actioned_on,
        max(backups_clear_on) as backups_clear_on,
        as_of

    from actioned
    group by
        organisation_id, rule_id, subject_kind, action, is_erasure_request, month_starts_on, as_of

)

select * from final
