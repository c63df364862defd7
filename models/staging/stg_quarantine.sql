with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    -- raw_values and detail are left out on purpose: they hold the rejected values as given
    -- (names, UPNs, ethnicity). Counts by file, rule and organisation need neither; whoever
    -- must fix a row reads raw.quarantine itself.
    select
        ---------- ids
        load_id,
        organisation_id,
        ---------- strings
        file_name,
        {{ dbt.split_part('file_name', "'.'", 1) }} as landing_file,
        rule,
        ---------- numbers
        line_number,
        ---------- booleans
        rule = 'malformed_row' as is_malformed,
        ---------- timestamps
        quarantined_at

    from source

)

select * from renamed
