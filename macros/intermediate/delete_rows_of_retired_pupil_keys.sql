{#- Pre-hook of the incremental attendance models: delete the rows of every pupil_key that
    int_pupil_keys no longer holds (the old key of a pupil an anonymisation re-keyed or a
    deletion removed), so erasure reaches the incremental tables on the next build.

    Deleting means probing every row of the table (tens of millions of marks), so a model can
    name a smaller table that holds every key it holds (`key_index`): when no key of the index
    is missing from int_pupil_keys, and the index has caught up with this table (its newest
    built_at is at least this table's), nothing was retired and the probe is skipped. That is
    the daily case. Any doubt (no index yet, index behind, a key missing) runs the delete.
    The key map is looked up beside this model rather than through ref(): every attendance
    model already runs after it (int_attendance_sessions_classified refs it), and a ref here
    would make each unit test of a model declare the key map as an input it never reads. -#}
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
