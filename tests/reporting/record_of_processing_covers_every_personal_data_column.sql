-- What it guards: the record of processing (reporting.rpt_ropa) covers every column that holds
--   personal data: every column of every source and model has a personal-data class in its
--   YAML, every column classed as personal data comes from a source that serves an activity
--   in seeds/reporting/ropa_relations.csv, and the warehouse has no column the YAML lacks.
-- When it matters: whenever a column, model or landing table is added; a column added without
--   a class, or a new source nobody placed in the record, fails here.
-- How to resolve: give the column its class (config: meta: personal_data:) in the YAML beside
--   its model or source; for a new source relation, add its activity to ropa_relations.csv.
with

coverage as (

    select * from {{ ref('rpt_ropa_coverage') }}

),

undeclared as (

    {{ tinytracker.ropa_undeclared_columns() }}

),

final as (

    select
        relation_name,
        column_name,
        coverage as problem

    from coverage
    where coverage in ('unclassified', 'not_covered')

    union all

    select
        relation_name,
        column_name,
        'built_but_not_declared' as problem

    from undeclared

)

select * from final
