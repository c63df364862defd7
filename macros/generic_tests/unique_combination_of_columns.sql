{#- Fails with one row per key value that occurs more than once across the given columns.
    Our own small version (the dbt package hub is out of reach here).

    `recent_column` (optional) makes a daily build cost what changed: only the keys of the rows
    carrying the newest value of that column (the newest load's `loaded_at`, the latest
    build's `built_at`) are looked up, against every row of the model, so a new row that
    duplicates an old one still fails. Rows of earlier loads were checked by the builds after
    them. The whole-table group-by runs when var `full_tests` is true (`make dbt-test`, the
    weekly build: `tinytracker build --full-tests`); the var is read when the test is
    compiled, so switching it needs no re-parse. -#}
{% test unique_combination_of_columns(model, combination_of_columns, recent_column=none) %}

    {%- set columns_csv = combination_of_columns | join(', ') %}
    {%- set full = tinytracker.full_tests() %}
    {#- a first build or full refresh wrote every row at once: the plain group-by is cheaper
        than looking every key up again -#}
    {%- if execute and recent_column is not none and not full %}
        {%- set counts = run_query(
            'select count(*) filter (where ' ~ recent_column ~ ' = (select max(' ~ recent_column
            ~ ') from ' ~ model ~ ')), count(*) from ' ~ model
        ) %}
        {%- set full = counts.columns[0].values()[0] * 2 >= counts.columns[1].values()[0] %}
    {%- endif %}

    {%- if recent_column is none or full %}

    {#- Two passes. A group-by on the key itself holds every distinct key in memory, strings
        and all: on the 383 million marks of a 1M-pupil trust it ran out of DuckDB's 2 GB
        and failed the build (docs/scaling.md). The first pass groups a fixed-width hash of
        the key; the second groups, exactly, only the rows whose hash came twice, so a hash
        collision costs a second look and never a false failure.
        A view without recent_column (the retention and reporting views: derived, at most a
        few rows per person) would be derived twice, once per pass, and deriving it is the
        cost: its keys are derived once into a materialised CTE that both passes read (half
        the time at 100,000 pupils). For tables, and the staged marks (a plain projection of
        raw, tens of millions of rows), the CTE is inlined and read twice: a second scan
        costs less than holding their keys. -#}
    {%- set key_hash = tinytracker.key_hash(combination_of_columns) %}
    {%- set derive_once = execute and recent_column is none
        and tinytracker.is_view(model) %}

    with

    tested_keys as {{ tinytracker.materialized_cte(once=derive_once) }} (

        select
            {{ columns_csv }},
            {{ key_hash }} as key_hash
        from {{ model }}

    ),

    repeated_hashes as (

        select key_hash
        from tested_keys
        group by key_hash
        having count(*) > 1

    ),

    final as (

        select
            {{ columns_csv }},
            count(*) as occurrences
        from tested_keys
        where key_hash in (select repeated_hashes.key_hash from repeated_hashes)
        group by {{ columns_csv }}
        having count(*) > 1

    )

    select * from final

    {%- else %}

    with

    recent_keys as (

        select distinct {{ columns_csv }}
        from {{ model }}
        where {{ recent_column }} = (select max({{ recent_column }}) from {{ model }})

    ),

    rows_with_recent_keys as (

        select {{ columns_csv }}
        from {{ model }}
        {#- a semi join: DuckDB builds the hash table on the few recent keys -#}
        where exists (
            select 1 from recent_keys
            where
            {%- for column in combination_of_columns %}
                {{ 'and ' if not loop.first }}recent_keys.{{ column }} = {{ model }}.{{ column }}
            {%- endfor %}
        )

    ),

    final as (

        select
            {{ columns_csv }},
            count(*) as occurrences
        from rows_with_recent_keys
        group by {{ columns_csv }}
        having count(*) > 1

    )

    select * from final

    {%- endif %}

{% endtest %}
