{#- The evaluation date of the DPO report and the windows it looks at. The date is the one
    retention_status was built for (retention runs rebuild it for their own as_of), so every
    section of the page is judged on the same day as the statuses it counts. -#}
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

evaluated as (

    select coalesce(max(as_of), {{ tinytracker.as_of() }}) as as_of
    from retention_status

),

final as (

    select
        as_of,
        {{ tinytracker.add_days('as_of', 1) }} as forecast_starts_on,
        -- twelve calendar months: the rest of as_of's month and the eleven after it
        {{ tinytracker.add_days(
            tinytracker.add_months(dbt.date_trunc('month', 'as_of'), 12), -1
        ) }} as forecast_ends_on,
        -- twenty-four calendar months of history, as_of's month included
        {{ tinytracker.add_months(dbt.date_trunc('month', 'as_of'), -23) }}
            as history_starts_on

    from evaluated

)

select * from final
