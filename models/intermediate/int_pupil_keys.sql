{#- The only map from a pupil's MIS id to its random pupil_key. Incremental so a pupil keeps
    the same key from build to build (incremental facts will rely on it); the post-hook drops
    every entry whose (organisation_id, pupil_id) no longer exists in stg_pupils: after an
    anonymisation (pupil_id replaced by a surrogate) or a deletion the old link is gone, and
    the anonymised pupil gets a fresh key for its surrogate id.
    keyed_at (this build's start) lets the incremental attendance model find the keys issued
    since its own last build without scanning every mark it holds; rows keyed before the
    column existed have it null (on_schema_change adds it) and count as old. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        post_hook=[
            "delete from {{ this }} where not exists (
                select 1
                from {{ ref('stg_pupils') }} as pupils
                where
                    pupils.organisation_id = {{ this }}.organisation_id
                    and pupils.pupil_id = {{ this }}.pupil_id
            )"
        ]
    )
}}

with

pupils as (

    select
        organisation_id,
        pupil_id
    from {{ ref('stg_pupils') }}

),

{% if is_incremental() %}
already_keyed as (

    select
        organisation_id,
        pupil_id
    from {{ this }}

),
{% endif %}

pupils_to_key as (

    select
        pupils.organisation_id,
        pupils.pupil_id
    from pupils
    {% if is_incremental() %}
        left join already_keyed
            on
                pupils.organisation_id = already_keyed.organisation_id
                and pupils.pupil_id = already_keyed.pupil_id
    where already_keyed.pupil_id is null
    {% endif %}

),

final as (

    select
        organisation_id,
        pupil_id,
        {{ random_surrogate_key() }} as pupil_key,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
            as keyed_at
    from pupils_to_key

)

select * from final
