{#- The evaluation date of the DPO report and the windows it looks at: the build's as_of (the
    dbt var, as every retention model reads it), so no section has to evaluate the statuses to
    learn the date. `tinytracker report --html` checks that retention_status was built for
    the same day before it reads anything. -#}
with

evaluated as (

    select {{ tinytracker.as_of() }} as as_of

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
