with

source as (

    select * from {{ source('raw', 'setup_imports') }}

),

renamed as (

    select
        ---------- ids
        organisation_id,
        import_id,
        ---------- strings
        file_name,
        payload,
        ---------- numbers
        row_number,
        ---------- dates
        received_on,
        processed_on,
        _loaded_at as loaded_at

    from source

)

select * from renamed
