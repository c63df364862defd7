{#- Which source relations every model is built from (a source: itself), read from the dbt graph
    at build time: a model's columns are covered by the activities of its sources. -#}
with

graph_lineage as (

    {{ tinytracker.ropa_graph_lineage() }}

),

final as (

    select
        relation_name,
        layer,
        source_relation_name

    from graph_lineage

)

select * from final
