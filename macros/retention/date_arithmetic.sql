{#- Calendar arithmetic on dates (no time zone), always returning a date.
    Adding months or years clamps to the end of the month (spec: Dates):
    2024-02-29 + 3 years = 2027-02-28; 2025-08-31 + 6 months = 2026-02-28.
    DuckDB, Spark (add_months) and Postgres clamp natively through dbt.dateadd; an adapter
    whose month arithmetic does not clamp adds its own <adapter>__add_months. -#}

{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'tinytracker')(date_expr, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro add_months(date_expr, months) -%}
    {{ return(adapter.dispatch('add_months', 'tinytracker')(date_expr, months)) }}
{%- endmacro %}

{% macro default__add_months(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{% macro add_years(date_expr, years) -%}
    {{ return(adapter.dispatch('add_years', 'tinytracker')(date_expr, years)) }}
{%- endmacro %}

{% macro default__add_years(date_expr, years) -%}
    {#- Twelve months per year, so 29 February clamps exactly as months do. -#}
    {{ tinytracker.add_months(date_expr, '(' ~ years ~ ') * 12') }}
{%- endmacro %}

{#- Adds a retention period read from the policy seeds: `amount` and `unit` are SQL
    expressions (usually the seed's period_value and period_unit columns), unit one of
    day, month, year. An unknown unit gives null, which the seed tests rule out. -#}
{% macro add_period(date_expr, amount, unit) -%}
    {{ return(adapter.dispatch('add_period', 'tinytracker')(date_expr, amount, unit)) }}
{%- endmacro %}

{% macro default__add_period(date_expr, amount, unit) -%}
    case {{ unit }}
        when 'day' then {{ tinytracker.add_days(date_expr, amount) }}
        when 'month' then {{ tinytracker.add_months(date_expr, amount) }}
        when 'year' then {{ tinytracker.add_years(date_expr, amount) }}
    end
{%- endmacro %}
