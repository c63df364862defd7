{#- The evaluation date of a run: dbt var `as_of` (YYYY-MM-DD), or current_date when the var
    is null. Every retention model reads it through this macro, so one build can be replayed
    or simulated for any day: `tinytracker build --as-of 2025-10-01`. A var given in YAML
    (--vars '{as_of: 2025-10-01}') arrives as a date object; `| string` makes both the same. -#}
{% macro as_of() -%}
    {{ return(adapter.dispatch('as_of', 'tinytracker')()) }}
{%- endmacro %}

{% macro default__as_of() -%}
    {%- set value = var('as_of', none) -%}
    {%- set text = '' if value is none else (value | string | trim) -%}
    {%- if text in ('', 'None', 'none', 'null') -%}
        current_date
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        cast('{{ text }}' as date)
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var as_of must be a date written YYYY-MM-DD (or null for today), got '" ~ text ~ "'"
        ) }}
    {%- endif -%}
{%- endmacro %}
