with

source as (

    select * from {{ source('audit', 'legal_holds') }}

),

renamed as (

    select
        ---------- ids
        hold_id,
        organisation_id,
        subject_id,
        ---------- strings
        subject_kind,
        reason,
        placed_by,
        released_by,
        ---------- booleans
        released_at is null as is_active,
        ---------- timestamps
        placed_at,
        released_at

    from source

)

select * from renamed
