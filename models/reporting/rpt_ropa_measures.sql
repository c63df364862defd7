{#- The technical and organisational measures of the record, with the periods and thresholds
    filled in from where the project keeps them (policy seeds, dbt vars). -#}
with

measures as (

    select * from {{ ref('ropa_measures') }}

),

general_clauses as (

    select * from {{ ref('retention_general_clauses') }}

),

retention_actions as (

    select * from {{ ref('retention_actions') }}

),

backups_period as (

    select cast(period_value as {{ dbt.type_string() }}) as backup_days
    from general_clauses
    where clause_id = 'backups_kept_90_days'

),

action_steps as (

    select cast(count(*) as {{ dbt.type_string() }}) as retention_steps
    from retention_actions

),

final as (

    select
        measures.measure_id,
        measures.applies_to,
        replace(
            replace(
                replace(measures.measure, '{backup_days}', backups_period.backup_days),
                '{min_cell_size}', '{{ var("min_cell_size") }}'
            ),
            '{retention_steps}', action_steps.retention_steps
        ) as measure,
        replace(measures.evidence, '{retention_steps}', action_steps.retention_steps)
            as evidence

    from measures
    cross join backups_period
    cross join action_steps

)

select * from final
