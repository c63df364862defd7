{#- Incremental by term. A build looks only at the marks int_attendance_sessions_classified
    wrote since this table's newest built_at (zone maps skip the rest), and for each
    (pupil_key, academic_year, term) they touch:
    - if every changed mark is dated after the term's last counted session (a new school day,
      the daily case), adds their counts to the stored ones;
    - otherwise (a corrected mark, a new or re-keyed pupil_key), recounts the term from
      scratch;
    then re-adds the pupil's full_year row from its term rows. delete+insert on the unique key
    replaces exactly those rows. The pre-hook (delete_rows_of_retired_pupil_keys) deletes the
    rows of every key no longer in int_pupil_keys, as int_attendance_sessions_classified's own
    pre-hook does, so erasure reaches this table on the same build. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['pupil_key', 'academic_year', 'term'],
        on_schema_change='sync_all_columns',
        pre_hook=["{{ delete_rows_of_retired_pupil_keys() }}"]
    )
}}

{#- A table built before built_at and last_session_date existed is recounted in full once
    (delete+insert on the unique key; on_schema_change adds the columns). -#}
{%- set watermark = none -%}
{%- set incremental_ready = false -%}
{%- if execute and is_incremental() -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'built_at' in existing and 'last_session_date' in existing -%}
        {%- set incremental_ready = true -%}
        {%- set watermark = run_query(
            'select cast(max(built_at) as ' ~ dbt.type_string() ~ ') from ' ~ this
        ).columns[0].values()[0] -%}
    {%- endif -%}
{%- endif %}

with

sessions as (

    select * from {{ ref('int_attendance_sessions_classified') }}

),

{% if incremental_ready %}
    -- the marks written since this table was last built (read apart from `sessions`: a CTE
    -- referenced twice is materialised in full first, tens of millions of rows)
    session_changes as (

        select
            pupil_key,
            organisation_id,
            academic_year,
            academic_year_start_year,
            term,
            session_date,
            counts_as_possible,
            attendance_category,
            built_at
        from {{ ref('int_attendance_sessions_classified') }}
        {% if watermark is not none %}
            where built_at > cast('{{ watermark }}' as timestamp)
        {% endif %}

    ),

    changed_terms as (

        select
            pupil_key,
            academic_year,
            term,
            min(session_date) as first_changed_date
        from session_changes
        group by pupil_key, academic_year, term

    ),

    stored_terms as (

        select this_table.*
        from {{ this }} as this_table
        inner join changed_terms
            on
                this_table.pupil_key = changed_terms.pupil_key
                and this_table.academic_year = changed_terms.academic_year
                and this_table.term = changed_terms.term

    ),

    -- every changed mark is dated after the last one counted: new days only, the counts add up
    appended_terms as (

        select stored_terms.*
        from stored_terms
        inner join changed_terms
            on
                stored_terms.pupil_key = changed_terms.pupil_key
                and stored_terms.academic_year = changed_terms.academic_year
                and stored_terms.term = changed_terms.term
        where changed_terms.first_changed_date > stored_terms.last_session_date

    ),

    -- any other changed term (a corrected mark, a new or re-keyed pupil_key) is recounted
    recounted_terms as (

        select
            changed_terms.pupil_key,
            changed_terms.academic_year,
            changed_terms.term
        from changed_terms
        left join appended_terms
            on
                changed_terms.pupil_key = appended_terms.pupil_key
                and changed_terms.academic_year = appended_terms.academic_year
                and changed_terms.term = appended_terms.term
        where appended_terms.pupil_key is null

    ),

    -- the academic years and terms to recount, to narrow the scan before the join on key
    recounted_periods as (

        select distinct
            academic_year,
            term
        from recounted_terms

    ),

    counted_sessions as (

        select
            sessions.pupil_key,
            sessions.organisation_id,
            sessions.academic_year,
            sessions.academic_year_start_year,
            sessions.term,
            sessions.session_date,
            sessions.counts_as_possible,
            sessions.attendance_category,
            sessions.built_at
        from sessions
        inner join recounted_periods
            on
                sessions.academic_year = recounted_periods.academic_year
                and sessions.term = recounted_periods.term
        inner join recounted_terms
            on
                sessions.pupil_key = recounted_terms.pupil_key
                and sessions.academic_year = recounted_terms.academic_year
                and sessions.term = recounted_terms.term

        union all

        select session_changes.*
        from session_changes
        inner join appended_terms
            on
                session_changes.pupil_key = appended_terms.pupil_key
                and session_changes.academic_year = appended_terms.academic_year
                and session_changes.term = appended_terms.term

    ),
{% else %}
    counted_sessions as (

        select * from sessions

    ),
{% endif %}

session_counts as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        sum(case when counts_as_possible then 1 else 0 end) as possible_sessions,
        sum(case when attendance_category = 'present' then 1 else 0 end) as present_sessions,
        sum(case when attendance_category = 'approved_activity' then 1 else 0 end)
            as approved_activity_sessions,
        sum(case when attendance_category = 'authorised' then 1 else 0 end)
            as authorised_absence_sessions,
        sum(case when attendance_category = 'unauthorised' then 1 else 0 end)
            as unauthorised_absence_sessions,
        sum(case when counts_as_possible then 0 else 1 end) as not_counted_sessions,
        max(session_date) as last_session_date,
        max(built_at) as built_at
    from counted_sessions
    group by pupil_key, organisation_id, academic_year, academic_year_start_year, term

),

{% if incremental_ready %}
    -- an appended term's new counts are added to the ones already stored
    term_totals as (

        select
            session_counts.pupil_key,
            session_counts.organisation_id,
            session_counts.academic_year,
            session_counts.academic_year_start_year,
            session_counts.term,
            session_counts.possible_sessions
            + coalesce(appended_terms.possible_sessions, 0) as possible_sessions,
            session_counts.present_sessions
            + coalesce(appended_terms.present_sessions, 0) as present_sessions,
            session_counts.approved_activity_sessions
            + coalesce(appended_terms.approved_activity_sessions, 0)
                as approved_activity_sessions,
            session_counts.authorised_absence_sessions
            + coalesce(appended_terms.authorised_absence_sessions, 0)
                as authorised_absence_sessions,
            session_counts.unauthorised_absence_sessions
            + coalesce(appended_terms.unauthorised_absence_sessions, 0)
                as unauthorised_absence_sessions,
            session_counts.not_counted_sessions
            + coalesce(appended_terms.not_counted_sessions, 0) as not_counted_sessions,
            session_counts.last_session_date,
            session_counts.built_at
        from session_counts
        left join appended_terms
            on
                session_counts.pupil_key = appended_terms.pupil_key
                and session_counts.academic_year = appended_terms.academic_year
                and session_counts.term = appended_terms.term

    ),

    -- the untouched terms of each changed pupil-year, as already counted here
    kept_terms as (

        select
            this_table.pupil_key,
            this_table.organisation_id,
            this_table.academic_year,
            this_table.academic_year_start_year,
            this_table.term,
            this_table.possible_sessions,
            this_table.present_sessions,
            this_table.approved_activity_sessions,
            this_table.authorised_absence_sessions,
            this_table.unauthorised_absence_sessions,
            this_table.not_counted_sessions,
            this_table.last_session_date,
            this_table.built_at
        from {{ this }} as this_table
        inner join (
            select distinct
                pupil_key,
                academic_year
            from changed_terms
        ) as changed_years
            on
                this_table.pupil_key = changed_years.pupil_key
                and this_table.academic_year = changed_years.academic_year
        left join changed_terms
            on
                this_table.pupil_key = changed_terms.pupil_key
                and this_table.academic_year = changed_terms.academic_year
                and this_table.term = changed_terms.term
        where this_table.term != 'full_year' and changed_terms.pupil_key is null

    ),

    year_terms as (

        select * from term_totals
        union all
        select * from kept_terms

    ),
{% else %}
    term_totals as (

        select * from session_counts

    ),

    year_terms as (

        select * from session_counts

    ),
{% endif %}

year_totals as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        'full_year' as term,
        sum(possible_sessions) as possible_sessions,
        sum(present_sessions) as present_sessions,
        sum(approved_activity_sessions) as approved_activity_sessions,
        sum(authorised_absence_sessions) as authorised_absence_sessions,
        sum(unauthorised_absence_sessions) as unauthorised_absence_sessions,
        sum(not_counted_sessions) as not_counted_sessions,
        max(last_session_date) as last_session_date,
        max(built_at) as built_at
    from year_terms
    group by pupil_key, organisation_id, academic_year, academic_year_start_year

),

periods as (

    select * from term_totals
    union all
    select * from year_totals

),

rated as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        cast(possible_sessions as {{ dbt.type_int() }}) as possible_sessions,
        cast(present_sessions as {{ dbt.type_int() }}) as present_sessions,
        cast(approved_activity_sessions as {{ dbt.type_int() }})
            as approved_activity_sessions,
        cast(present_sessions + approved_activity_sessions as {{ dbt.type_int() }})
            as attended_sessions,
        cast(authorised_absence_sessions as {{ dbt.type_int() }})
            as authorised_absence_sessions,
        cast(unauthorised_absence_sessions as {{ dbt.type_int() }})
            as unauthorised_absence_sessions,
        cast(authorised_absence_sessions + unauthorised_absence_sessions as {{ dbt.type_int() }})
            as absence_sessions,
        cast(not_counted_sessions as {{ dbt.type_int() }}) as not_counted_sessions,
        100.0 * (present_sessions + approved_activity_sessions)
        / nullif(possible_sessions, 0) as attendance_rate,
        100.0 * (authorised_absence_sessions + unauthorised_absence_sessions)
        / nullif(possible_sessions, 0) as absence_rate,
        last_session_date,
        built_at
    from periods

),

flagged as (

    select
        pupil_key,
        organisation_id,
        academic_year,
        academic_year_start_year,
        term,
        possible_sessions,
        present_sessions,
        approved_activity_sessions,
        attended_sessions,
        authorised_absence_sessions,
        unauthorised_absence_sessions,
        absence_sessions,
        not_counted_sessions,
        attendance_rate,
        absence_rate,
        absence_rate >= {{ var('attendance:persistent_absence_threshold') }}
            as is_persistently_absent,
        absence_rate >= {{ var('attendance:severe_absence_threshold') }}
            as is_severely_absent,
        last_session_date,
        built_at
    from rated

),

final as (

    select * from flagged

)

select * from final
