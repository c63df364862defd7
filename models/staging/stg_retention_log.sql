with

source as (

    select * from {{ source('audit', 'retention_log') }}

),

renamed as (

    select
        ---------- ids
        run_id,
        rule_id,
        ---------- strings
        table_name,
        action,
        requested_by,
        ---------- numbers
        rows_affected,
        ---------- booleans
        is_dry_run,
        ---------- dates
        as_of,
        backups_clear_on,
        ---------- timestamps
        started_at,
        finished_at

    from source

)

select * from renamed
