{#- The evaluation date of a run: dbt var `as_of` (YYYY-MM-DD), else env TINYTRACKER_AS_OF (how
    the Dagster build passes its date: read only when a node is compiled, never while dbt
    parses, so a new date is not a new parse), or current_date when neither is set. Every retention model reads it through this macro, so one build can be replayed
    or simulated for any day: `tinytracker build --as-of 2025-10-01`. A var given in YAML
    (--vars '{as_of: 2025-10-01}') arrives as a date object; `| string` makes both the same. -#}
{% macro as_of() -%}
    {{ return(adapter.dispatch('as_of', 'tinytracker')()) }}
{%- endmacro %}

{% macro default__as_of() -%}
    {%- set value = var('as_of', none) -%}
    {%- set text = '' if value is none else (value | string | trim) -%}
    {%- if text in ('', 'None', 'none', 'null') and execute -%}
        {%- set text = env_var('TINYTRACKER_AS_OF', '') | trim -%}
    {%- endif -%}
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
