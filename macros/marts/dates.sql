{#- Date helpers for the English school calendar (spec/school-data.md, "Dates").

    The academic year runs 1 September to 31 August and is labelled like the landing
    contract's assessments.academic_year ("2024/25"). This is NOT the DfE absence-statistics
    year (1 August to 31 July): attendance on 20 August 2024 belongs to 2023/24 here.

    Terms follow one simple, documented rule (docs/analysts.md, "Terms"):
    autumn = 1 September to 31 December; spring = 1 January to the day before Easter Sunday;
    summer = Easter Sunday to 31 August. Schools break up for Easter around Easter Sunday,
    so every school day falls in the right term without a per-school term-dates table. -#}

{#- Calendar year in which the academic year containing `date_expr` starts (2024 for
    2024/25). -#}
{% macro academic_year_start_year(date_expr) %}
    {{- return(adapter.dispatch('academic_year_start_year', 'tinytracker')(date_expr)) -}}
{% endmacro %}

{% macro default__academic_year_start_year(date_expr) -%}
    (
        cast(extract(year from {{ date_expr }}) as {{ dbt.type_int() }})
        - case when extract(month from {{ date_expr }}) < 9 then 1 else 0 end
    )
{%- endmacro %}

{#- "2024/25" for the start year 2024 (an integer expression). -#}
{% macro academic_year_label(start_year_expr) %}
    {{- return(adapter.dispatch('academic_year_label', 'tinytracker')(start_year_expr)) -}}
{% endmacro %}

{% macro default__academic_year_label(start_year_expr) -%}
    {{ dbt.concat([
        dbt.cast(start_year_expr, dbt.type_string()),
        "'/'",
        dbt.right(dbt.cast('(' ~ start_year_expr ~ ') + 1', dbt.type_string()), 2),
    ]) }}
{%- endmacro %}

{#- The start year (integer) of an academic year label "2024/25". -#}
{% macro academic_year_label_start_year(label_expr) %}
    {{- return(adapter.dispatch('academic_year_label_start_year', 'tinytracker')(label_expr)) -}}
{% endmacro %}

{% macro default__academic_year_label_start_year(label_expr) -%}
    {{ try_cast_integer(dbt.split_part(label_expr, "'/'", 1)) }}
{%- endmacro %}

{#- A date from three integer expressions (dbt.date only takes Python literals). -#}
{% macro date_from_parts(year_expr, month_expr, day_expr) %}
    {{- return(adapter.dispatch('date_from_parts', 'tinytracker')(
        year_expr, month_expr, day_expr
    )) -}}
{% endmacro %}

{#- Postgres spelling; most warehouses have make_date or date_from_parts. -#}
{% macro default__date_from_parts(year_expr, month_expr, day_expr) -%}
    make_date({{ year_expr }}, {{ month_expr }}, {{ day_expr }})
{%- endmacro %}

{% macro duckdb__date_from_parts(year_expr, month_expr, day_expr) -%}
    make_date(
        cast({{ year_expr }} as bigint),
        cast({{ month_expr }} as bigint),
        cast({{ day_expr }} as bigint)
    )
{%- endmacro %}

{#- Easter Sunday of the calendar year given by an integer expression, for 1990-2150 (null
    outside). The date is worked out at compile time with the anonymous Gregorian algorithm
    (the one tinytracker/generator/calendar.py uses) and emitted as a flat CASE: the same
    SQL in every warehouse, and no deeply nested arithmetic for the warehouse or the linter
    to parse. -#}
{% macro easter_sunday(year_expr, first_year=1990, last_year=2150) %}
    {{- return(adapter.dispatch('easter_sunday', 'tinytracker')(
        year_expr, first_year, last_year
    )) -}}
{% endmacro %}

{% macro default__easter_sunday(year_expr, first_year, last_year) -%}
    case {{ year_expr }}
        {%- for year in range(first_year, last_year + 1) %}
            {%- set a = year % 19 -%}
            {%- set b = year // 100 -%}
            {%- set c = year % 100 -%}
            {%- set d = b // 4 -%}
            {%- set e = b % 4 -%}
            {%- set f = (b + 8) // 25 -%}
            {%- set g = (b - f + 1) // 3 -%}
            {%- set h = (19 * a + b - d - g + 15) % 30 -%}
            {%- set i = c // 4 -%}
            {%- set k = c % 4 -%}
            {%- set l = (32 + 2 * e + 2 * i - h - k) % 7 -%}
            {%- set m = (a + 11 * h + 22 * l) // 451 -%}
            {%- set month = (h + l - 7 * m + 114) // 31 -%}
            {%- set day = (h + l - 7 * m + 114) % 31 + 1 %}
        when {{ year }} then {{ dbt.cast(
            "'" ~ year ~ '-' ~ '%02d' | format(month) ~ '-' ~ '%02d' | format(day) ~ "'",
            'date'
        ) }}
        {%- endfor %}
    end
{%- endmacro %}

{#- 'autumn', 'spring' or 'summer' for a date expression (rule in the header above). -#}
{% macro school_term(date_expr) %}
    {{- return(adapter.dispatch('school_term', 'tinytracker')(date_expr)) -}}
{% endmacro %}

{% macro default__school_term(date_expr) -%}
    case
        when extract(month from {{ date_expr }}) >= 9 then 'autumn'
        when {{ date_expr }} < {{ easter_sunday('extract(year from ' ~ date_expr ~ ')') }}
            then 'spring'
        else 'summer'
    end
{%- endmacro %}
