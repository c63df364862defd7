{#- The English academic year runs 1 September to 31 August (spec: Dates).
    academic_year_end(d) = 31 August of year(d) if month(d) <= 8, else of year(d) + 1;
    next_academic_year_start(d) = academic_year_end(d) + 1 day, written exactly so: the rule
    reads next_academic_year_start, so every leaver's due_on goes through academic_year_end.
    Null in, null out. -#}

{% macro academic_year_end(date_expr) -%}
    {{ return(adapter.dispatch('academic_year_end', 'tinytracker')(date_expr)) }}
{%- endmacro %}

{% macro default__academic_year_end(date_expr) -%}
    {#- Four months on, a September..December date lands in the next calendar year and a
        January..August date stays in its own; the start of that year plus eight months is the
        1 September after d, and the day before it is the 31 August that ends d's academic
        year. Only dbt's cross-database date macros are used, so any adapter with a dateadd and
        date_trunc gets it for free. -#}
    {{ tinytracker.add_days(
        dbt.dateadd('month', 8, dbt.date_trunc('year', dbt.dateadd('month', 4, date_expr))),
        -1
    ) }}
{%- endmacro %}

{% macro next_academic_year_start(date_expr) -%}
    {{ return(adapter.dispatch('next_academic_year_start', 'tinytracker')(date_expr)) }}
{%- endmacro %}

{% macro default__next_academic_year_start(date_expr) -%}
    {{ tinytracker.add_days(tinytracker.academic_year_end(date_expr), 1) }}
{%- endmacro %}
