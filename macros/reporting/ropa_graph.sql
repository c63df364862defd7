{#- The dbt graph as rows, for the record of processing (models/reporting/rpt_ropa_*.sql).

    GitLab's pattern: every column is classified once in YAML (config.meta.personal_data) and
    SQL reads the classification from dbt's graph, so the record and the YAML never disagree.
    Sources and models are listed (seeds are code lists and policy under version control,
    never a person). A model column without a class of its own takes its model's
    `columns_personal_data` meta, set per folder in dbt_project.yml (marts and sharing:
    aggregates), and is otherwise left null: the test record_of_processing_covers_every_
    personal_data_column lists it. -#}

{#- Every source and model of the project: {relation_name, resource_type, layer, node}. -#}
{% macro ropa_graph_relations() %}
    {%- set relations = [] -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
        {%- do relations.append({
            'relation_name': source.schema ~ '.' ~ (source.identifier or source.name),
            'resource_type': 'source',
            'layer': source.source_name,
            'node': source,
        }) -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name
        and node.config.materialized != 'ephemeral' -%}
        {%- do relations.append({
            'relation_name': node.schema ~ '.' ~ (node.alias or node.name),
            'resource_type': 'model',
            'layer': node.fqn[1] if node.fqn | length > 2 else 'models',
            'node': node,
        }) -%}
    {%- endfor -%}
    {{- return(relations | sort(attribute='relation_name')) -}}
{% endmacro %}


{#- A select of literal rows with the given columns (all text); no rows when `rows` is empty
    or at parse time. -#}
{% macro ropa_literal_rows(columns, rows) %}
    {%- if rows | length == 0 %}
        select
        {%- for column in columns %}
            cast(null as {{ dbt.type_string() }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        where 1 = 0
    {%- else %}
        select * from (
            values
            {%- for row in rows %}
                (
                {%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ dbt.type_string() }})
                    {%- else -%}
                        '{{ value | string | replace("'", "''") }}'
                    {%- endif -%}
                    {{- ', ' if not loop.last -}}
                {%- endfor -%}
                ){{ ',' if not loop.last }}
            {%- endfor %}
        ) as literal_rows ({{ columns | join(', ') }})
    {%- endif %}
{% endmacro %}


{#- One row per declared column of every source and model, with its personal-data class. -#}
{% macro ropa_graph_columns() %}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for relation in tinytracker.ropa_graph_relations() -%}
            {%- set node = relation.node -%}
            {%- set default = ((node.config or {}).get('meta') or {}).get('columns_personal_data')
                or (node.meta or {}).get('columns_personal_data') -%}
            {%- for column in node.columns.values() -%}
                {%- set own = tinytracker_column_meta(column).get('personal_data') -%}
                {%- do rows.append([
                    relation.relation_name,
                    relation.resource_type,
                    relation.layer,
                    column.name | lower,
                    own or default,
                    'column' if own else ('relation default' if default else none),
                ]) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ tinytracker.ropa_literal_rows(
        ['relation_name', 'resource_type', 'layer', 'column_name', 'personal_data',
         'classified_by'],
        rows
    ) }}
{% endmacro %}


{#- One row per source and model and each source relation it is built from (a source: itself). -#}
{% macro ropa_graph_lineage() %}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for relation in tinytracker.ropa_graph_relations() -%}
            {%- if relation.resource_type == 'source' -%}
                {%- do rows.append([relation.relation_name, relation.layer,
                    relation.relation_name]) -%}
            {%- else -%}
                {%- set sources = [] -%}
                {%- for parent in tinytracker_upstream_nodes(relation.node)
                    if parent.resource_type == 'source' -%}
                    {%- set name = parent.schema ~ '.' ~ (parent.identifier or parent.name) -%}
                    {%- if name not in sources -%}
                        {%- do sources.append(name) -%}
                        {%- do rows.append([relation.relation_name, relation.layer, name]) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ tinytracker.ropa_literal_rows(['relation_name', 'layer', 'source_relation_name'], rows) }}
{% endmacro %}


{#- Columns the warehouse has but the YAML does not declare (so no class), for every source
    and model as built: relation_name, column_name. -#}
{% macro ropa_undeclared_columns() %}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- set relations = tinytracker.ropa_graph_relations() -%}
        {%- set built = tinytracker.ropa_built_columns(relations) -%}
        {%- for relation in relations -%}
            {%- set declared = relation.node.columns.keys() | map('lower') | list -%}
            {%- for column in built.get(relation.relation_name | lower, [])
                if column not in declared -%}
                {%- do rows.append([relation.relation_name, column]) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ tinytracker.ropa_literal_rows(['relation_name', 'column_name'], rows) }}
{% endmacro %}


{#- The columns of `relations` (ropa_graph_relations) as built: {"schema.relation": [column,
    ...]}, lower case; a relation not built yet has no entry. -#}
{% macro ropa_built_columns(relations) %}
    {{- return(adapter.dispatch('ropa_built_columns', 'tinytracker')(relations)) -}}
{% endmacro %}

{% macro default__ropa_built_columns(relations) %}
    {%- set columns = {} -%}
    {%- for relation in relations -%}
        {%- set node = relation.node -%}
        {%- set built = adapter.get_relation(
            database=node.database, schema=node.schema,
            identifier=(node.identifier or node.alias or node.name)
        ) -%}
        {%- if built is not none -%}
            {%- do columns.update({relation.relation_name | lower:
                adapter.get_columns_in_relation(built) | map(attribute='name')
                | map('lower') | list}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(columns) -}}
{% endmacro %}

{% macro duckdb__ropa_built_columns(relations) %}
    {%- set query -%}
        select
            lower(table_schema) || '.' || lower(table_name) as relation_name,
            lower(column_name) as column_name
        from information_schema.columns
        where table_catalog = '{{ target.database }}'
        order by table_schema, table_name, ordinal_position
    {%- endset -%}
    {%- set columns = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- do columns.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {{- return(columns) -}}
{% endmacro %}
