with

legal_holds as (

    select * from {{ ref('stg_legal_holds') }}

),

final as (

    select
        hold_id,
        organisation_id,
        subject_kind as held_subject_kind,
        subject_id as held_subject_id,
        placed_at

    from legal_holds
    where is_active

)

select * from final
