with

setup_imports as (

    select * from {{ ref('stg_setup_imports') }}

),

-- one subject per import; its earliest processed row starts the clock
triggers as (

    select
        organisation_id,
        import_id as subject_id,
        min(processed_on) as processed_on

    from setup_imports
    group by organisation_id, import_id

),

{{ tinytracker.retention_due(
    'setup_imports_1y_after_processing',
    trigger_columns=['processed_on']
) }}
