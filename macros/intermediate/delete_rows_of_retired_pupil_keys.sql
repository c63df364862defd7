{#- Pre-hook of the incremental attendance models: delete the rows of every pupil_key that
    int_pupil_keys no longer holds, so erasure reaches the incremental tables (why and how the
    probe is skipped on a daily build: macros/intermediate/macros.md). -#}
{% macro delete_rows_of_retired_pupil_keys(key_index=none) %}
    {%- if execute and is_incremental() -%}
        {%- set keys = adapter.get_relation(
            database=this.database, schema=this.schema, identifier='int_pupil_keys'
        ) -%}
        {%- set must_delete = keys is not none -%}
        {%- if must_delete and key_index is not none -%}
            {%- set index = adapter.get_relation(
                database=this.database, schema=this.schema, identifier=key_index
            ) -%}
            {%- if index is not none -%}
                {%- set state = run_query(
                    'select (select count(*) from ' ~ index ~ ' as indexed where not exists ('
                    ~ 'select 1 from ' ~ keys ~ ' as live where live.pupil_key = indexed.pupil_key'
                    ~ ')), coalesce((select max(built_at) from ' ~ index ~ ') >= ('
                    ~ 'select max(built_at) from ' ~ this ~ '), false)'
                ) -%}
                {%- if state.columns[0].values()[0] == 0 and state.columns[1].values()[0] -%}
                    {%- set must_delete = false -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
        {%- if must_delete -%}
            delete from {{ this }} where not exists (
                select 1 from {{ keys }} as live where live.pupil_key = {{ this }}.pupil_key
            )
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
