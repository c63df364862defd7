with

source as (

    select * from {{ source('raw', 'load_log') }}

),

renamed as (

    select
        ---------- ids
        load_id,
        ---------- strings
        extract_path,
        file_name,
        {{ dbt.split_part('file_name', "'.'", 1) }} as landing_file,
        file_checksum,
        status,
        ---------- numbers
        rows_read,
        rows_inserted,
        rows_updated,
        rows_unchanged,
        rows_quarantined,
        rows_refused,
        rows_suppressed,
        ---------- booleans
        status = 'partially_loaded' as is_partially_loaded,
        ---------- timestamps
        loaded_at

    from source

)

select * from renamed
