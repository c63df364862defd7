{#- Landing: what the loads of each calendar month read and kept out, over the last
    twenty-four months. The load log counts per file, not per organisation. -#}
with

load_log as (

    select * from {{ ref('stg_load_log') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

recent as (

    select
        load_log.*,
        cast({{ dbt.date_trunc('month', 'load_log.loaded_at') }} as date) as month_starts_on,
        evaluation.as_of

    from load_log
    inner join evaluation
        on
            cast(load_log.loaded_at as date) between evaluation.history_starts_on
            and evaluation.as_of

),

final as (

    select
        month_starts_on,
        count(distinct load_id) as load_count,
        count(*) as file_count,
        sum(rows_read) as rows_read,
        sum(rows_quarantined) as rows_quarantined,
        sum(rows_refused) as rows_refused,
        sum(rows_suppressed) as rows_suppressed,
        as_of

    from recent
    group by month_starts_on, as_of

)

select * from final
