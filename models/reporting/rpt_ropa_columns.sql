{#- Every declared column of every source and model with its personal-data class, read from the
    dbt graph at build time (macros/reporting/ropa_graph.sql): the classification index the
    record of processing and its coverage test read. -#}
with

graph_columns as (

    {{ tinytracker.ropa_graph_columns() }}

),

final as (

    select
        relation_name,
        resource_type,
        layer,
        column_name,
        personal_data,
        classified_by,
        coalesce(
            personal_data in ('direct_identifier', 'quasi_identifier', 'special_category'), false
        ) as is_personal_data

    from graph_columns

)

select * from final
