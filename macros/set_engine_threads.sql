{#- The warehouse engine's worker threads from env TINYTRACKER_THREADS, when it is set (the
    loader and the CLI's own connections read the same variable): one knob for "use N cores",
    which bench-large turns to 1 to measure what a second core buys. Unset: the engine's
    default (DuckDB: one thread per core). Read when the hook runs, never while dbt parses:
    how many threads a build uses changes nothing in the parsed project, and an env var read
    while parsing makes every saved parse stale when it changes (core/dbt_runner.py). -#}
{% macro set_engine_threads() -%}
    {{ return(adapter.dispatch('set_engine_threads', 'tinytracker')()) }}
{%- endmacro %}

{% macro default__set_engine_threads() -%}
    select 1 as engine_threads_left_to_the_engine
{%- endmacro %}

{% macro duckdb__set_engine_threads() -%}
    {%- set threads = (env_var('TINYTRACKER_THREADS', '') | trim) if execute else '' -%}
    {%- if threads -%}
        set threads = {{ threads | int }}
    {%- else -%}
        select 1 as engine_threads_left_to_the_engine
    {%- endif -%}
{%- endmacro %}
