{#- Landing: rows quarantined per calendar month, organisation, landing file and rule over the
    last twenty-four months (stg_quarantine leaves the rejected values out). -#}
with

quarantine as (

    select * from {{ ref('stg_quarantine') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

recent as (

    select
        quarantine.organisation_id,
        quarantine.landing_file,
        quarantine.rule,
        cast({{ dbt.date_trunc('month', 'quarantine.quarantined_at') }} as date)
            as month_starts_on,
        evaluation.as_of

    from quarantine
    inner join evaluation
        on
            cast(quarantine.quarantined_at as date) between evaluation.history_starts_on
            and evaluation.as_of

),

final as (

    select
        month_starts_on,
        organisation_id,
        landing_file,
        rule,
        count(*) as row_count,
        as_of

    from recent
    group by month_starts_on, organisation_id, landing_file, rule, as_of

)

select * from final
