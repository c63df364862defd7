{#- Whether the record of processing covers each column: a column classed as personal data is
    covered when a source it comes from (the relation itself, for a source) serves an activity
    in ropa_relations. A column without a class is unclassified whatever it holds. -#}
with

graph_columns as (

    select * from {{ ref('rpt_ropa_columns') }}

),

lineage as (

    select * from {{ ref('rpt_ropa_lineage') }}

),

relation_activities as (

    select * from {{ ref('ropa_relations') }}

),

relation_activity_pairs as (

    select distinct
        lineage.relation_name,
        relation_activities.activity_id

    from lineage
    inner join relation_activities
        on lineage.source_relation_name = relation_activities.relation_name

),

activities_of_relations as (

    select
        relation_name,
        {{ dbt.listagg('activity_id', "', '", 'order by activity_id') }} as activity_ids

    from relation_activity_pairs
    group by relation_name

),

final as (

    select
        graph_columns.relation_name,
        graph_columns.resource_type,
        graph_columns.layer,
        graph_columns.column_name,
        graph_columns.personal_data,
        graph_columns.is_personal_data,
        activities_of_relations.activity_ids,
        case
            when graph_columns.personal_data is null then 'unclassified'
            when not graph_columns.is_personal_data then 'not_personal_data'
            when activities_of_relations.activity_ids is null then 'not_covered'
            else 'covered'
        end as coverage

    from graph_columns
    left join activities_of_relations
        on graph_columns.relation_name = activities_of_relations.relation_name

)

select * from final
