{#- Incremental: about 38 million marks for 100,000 pupils, of which a daily extract adds one
    school day. A build processes only
    - marks loaded after the newest loaded_at already here (a new day, or a mark a later
      extract changed: delete+insert on the unique key replaces it), and
    - every mark of a pupil_key issued since this table's last build (int_pupil_keys.keyed_at):
      a new pupil, or a pupil that an anonymisation re-keyed (its marks keep their loaded_at,
      their MIS id became a surrogate and int_pupil_keys gave the surrogate a fresh key).
    The daily case (no new key) is then a filter on loaded_at that DuckDB answers from its
    zone maps, without touching the millions of older marks.
    The pre-hook (macro delete_rows_of_retired_pupil_keys) first deletes the rows of every key
    no longer in int_pupil_keys (the old key of an anonymised or deleted pupil), so erasure
    reaches this table on the next build.
    Every row written carries the build's built_at, which int_pupil_attendance_summarised uses
    as its own watermark. A change that leaves both loaded_at and the key alone (an edited
    reference.attendance_codes seed, rows deleted from raw by hand) needs
    `dbt build --full-refresh`. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['pupil_key', 'session_date', 'session'],
        on_schema_change='sync_all_columns',
        pre_hook=["{{ delete_rows_of_retired_pupil_keys('int_pupil_attendance_summarised') }}"]
    )
}}

{#- A table built before loaded_at and built_at existed is rebuilt row for row once (the
    full query, delete+insert on the unique key; on_schema_change adds the columns). -#}
{%- set watermark = none -%}
{%- set incremental_ready = false -%}
{%- set last_built_at = none -%}
{%- set new_key_count = 0 -%}
{%- if execute and is_incremental() -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'loaded_at' in existing and 'built_at' in existing -%}
        {%- set incremental_ready = true -%}
        {%- set state = run_query(
            'select cast(max(loaded_at) as ' ~ dbt.type_string() ~ '), cast(max(built_at) as '
            ~ dbt.type_string() ~ ') from ' ~ this
        ) -%}
        {%- set watermark = state.columns[0].values()[0] -%}
        {%- set last_built_at = state.columns[1].values()[0] -%}
        {%- if last_built_at is not none -%}
            {%- set new_key_count = run_query(
                'select count(*) from ' ~ ref('int_pupil_keys') ~ ' where keyed_at > cast('
                ~ "'" ~ last_built_at ~ "' as " ~ dbt.type_timestamp() ~ ')'
            ).columns[0].values()[0] -%}
        {%- endif -%}
    {%- endif -%}
{%- endif -%}

{#- When this build wrote a row: int_pupil_attendance_summarised reads from it on. Never
    before the last build's, even if the clock stepped back in between (worked out here, so
    the SQL stays a portable timestamp literal). -#}
{%- set timestamp_format = "%Y-%m-%d %H:%M:%S.%f" -%}
{%- set built_at = run_started_at.strftime(timestamp_format) -%}
{%- if last_built_at is not none -%}
    {%- set after_last_build = (
        modules.datetime.datetime.fromisoformat(last_built_at)
        + modules.datetime.timedelta(microseconds=1)
    ).strftime(timestamp_format) -%}
    {%- set built_at = [built_at, after_last_build] | max -%}
{%- endif %}

with

sessions as (

    select * from {{ ref('stg_attendance_sessions') }}

),

pupil_keys as (

    select * from {{ ref('int_pupil_keys') }}

),

attendance_codes as (

    select * from {{ ref('attendance_codes') }}

),

{% if incremental_ready and new_key_count > 0 %}
    -- keys issued since the last build: a new pupil, or one re-keyed by an anonymisation
    new_keys as (

        select
            organisation_id,
            pupil_id
        from pupil_keys
        where keyed_at > cast('{{ last_built_at }}' as {{ dbt.type_timestamp() }})

    ),

    -- marks loaded since the last build, and every mark of a new key, in one pass over
    -- the source (a second reference would make the warehouse materialise all of it first)
    new_sessions as (

        select sessions.*
        from sessions
        left join new_keys
            on
                sessions.organisation_id = new_keys.organisation_id
                and sessions.pupil_id = new_keys.pupil_id
        where
            new_keys.pupil_id is not null
            or sessions.loaded_at is null
            {% if watermark is not none -%}
                or sessions.loaded_at > cast('{{ watermark }}' as {{ dbt.type_timestamp() }})
            {%- endif %}

    ),
{% elif incremental_ready %}
    -- no new key: only the marks loaded since the last build (the daily case)
    new_sessions as (

        select sessions.*
        from sessions
        {% if watermark is not none %}
            where
                sessions.loaded_at is null
                or sessions.loaded_at > cast('{{ watermark }}' as {{ dbt.type_timestamp() }})
        {% endif %}

    ),
{% else %}
    new_sessions as (

        select * from sessions

    ),
{% endif %}

-- The MIS id is used here only to find the pupil's key; it goes no further.
keyed as (

    select
        pupil_keys.pupil_key,
        new_sessions.organisation_id,
        new_sessions.session_date,
        new_sessions.session,
        new_sessions.attendance_code,
        new_sessions.loaded_at
    from new_sessions
    inner join pupil_keys
        on
            new_sessions.organisation_id = pupil_keys.organisation_id
            and new_sessions.pupil_id = pupil_keys.pupil_id

),

{% if incremental_ready %}
    -- the dates of the marks this build writes (a day or two in the daily case)
    session_dates as (

        select distinct session_date
        from new_sessions

    ),
{% else %}
    -- every date with a mark (one column, a fast scan), read apart from the marks themselves
    -- so that neither is referenced twice: a CTE used twice is materialised in full first
    session_dates as (

        select distinct session_date
        from {{ ref('stg_attendance_sessions') }}

    ),
{% endif %}

-- Academic year and term per calendar date, worked out once per distinct date (a few hundred)
-- rather than once per mark (tens of millions).
session_calendar as (

    select
        session_date,
        {{ academic_year_label(academic_year_start_year('session_date')) }} as academic_year,
        {{ academic_year_start_year('session_date') }} as academic_year_start_year,
        {{ school_term('session_date') }} as term
    from session_dates

),

-- A code counts by the set in force on the session's date: the 2024 set from 19 August 2024,
-- the older set (H, J, F, Y) before it. Open-ended validity bounds are null in the seed.
classified as (

    select
        keyed.pupil_key,
        keyed.organisation_id,
        session_calendar.academic_year,
        session_calendar.academic_year_start_year,
        session_calendar.term,
        keyed.session_date,
        keyed.session,
        keyed.attendance_code,
        coalesce(attendance_codes.category, 'not_in_force') as attendance_category,
        coalesce(attendance_codes.counts_as_possible, false) as counts_as_possible,
        attendance_codes.code is not null as is_code_in_force,
        keyed.loaded_at,
        cast('{{ built_at }}' as {{ dbt.type_timestamp() }}) as built_at
    from keyed
    inner join session_calendar
        on keyed.session_date = session_calendar.session_date
    left join attendance_codes
        on
            keyed.attendance_code = attendance_codes.code
            and (
                attendance_codes.valid_from is null
                or keyed.session_date >= attendance_codes.valid_from
            )
            and (
                attendance_codes.valid_to is null
                or keyed.session_date <= attendance_codes.valid_to
            )

),

final as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        session_date,
        session,
        attendance_code,
        attendance_category,
        counts_as_possible,
        is_code_in_force,
        loaded_at,
        built_at
    from classified

)

select * from final
