{#- Fails with one row per column of `model` that traces to a direct identifier, through the
    personal_data classes and lineage lists in YAML (how: macros/generic_tests/macros.md). -#}
{% test no_direct_identifier_lineage(model) %}

    {%- set failures = [] -%}

    {%- if execute -%}
        {%- set node = tinytracker_graph_node_for(model) -%}
        {%- set upstream = tinytracker_upstream_nodes(node) -%}

        {#- 2. tainted columns: "node_name.column" -> the direct identifier it traces to.
            Each column's meta is read once; the lineage is followed until a pass taints
            nothing new (at most one pass per level of the upstream graph, plus one). -#}
        {%- set tainted = {} -%}
        {%- set derived = [] -%}
        {%- for parent in upstream -%}
            {%- for column in parent.columns.values() -%}
                {%- set meta = tinytracker_column_meta(column) -%}
                {%- set qualified = parent.name ~ '.' ~ column.name -%}
                {%- if meta.get('personal_data') == 'direct_identifier' -%}
                    {%- do tainted.update({qualified: qualified}) -%}
                {%- elif meta.get('lineage') -%}
                    {%- do derived.append((qualified, meta.get('lineage'))) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set pass = namespace(tainted_more=true) -%}
        {%- for _ in range(upstream | length + 1) -%}
            {%- if pass.tainted_more -%}
                {%- set pass.tainted_more = false -%}
                {%- for qualified, lineage in derived if qualified not in tainted -%}
                    {%- for source_column in lineage -%}
                        {%- if source_column in tainted and qualified not in tainted -%}
                            {%- do tainted.update({qualified: tainted[source_column]}) -%}
                            {%- set pass.tainted_more = true -%}
                        {%- endif -%}
                    {%- endfor -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}

        {#- 3. the model's columns as built, plus those declared in YAML -#}
        {%- set column_names = [] -%}
        {%- for column in adapter.get_columns_in_relation(model) -%}
            {%- do column_names.append(column.name | lower) -%}
        {%- endfor -%}
        {%- for name in node.columns.keys() if name | lower not in column_names -%}
            {%- do column_names.append(name | lower) -%}
        {%- endfor -%}

        {%- for name in column_names -%}
            {%- set declared = node.columns.get(name) or {} -%}
            {%- set meta = tinytracker_column_meta(declared) if declared else {} -%}
            {%- set words = '_' ~ name ~ '_' -%}
            {%- for qualified, origin in tainted.items() -%}
                {%- set tainted_name = qualified.split('.')[-1] | lower -%}
                {%- if words.find('_' ~ tainted_name ~ '_') >= 0
                    or qualified in meta.get('lineage', []) -%}
                    {%- do failures.append((name, origin)) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if meta.get('personal_data') == 'direct_identifier' -%}
                {%- do failures.append((name, node.name ~ '.' ~ name)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if failures | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as model_column,
        cast(null as {{ dbt.type_string() }}) as traces_to
    where 1 = 0
    {%- else %}
        {%- for name, origin in failures | unique | list %}
    select
        '{{ name }}' as model_column,
        '{{ origin }}' as traces_to
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

{% endtest %}


{#- The graph node (model, seed or snapshot) a relation was built from. -#}
{% macro tinytracker_graph_node_for(relation) %}
    {%- for node in graph.nodes.values()
        if node.resource_type in ('model', 'seed', 'snapshot')
        and (node.alias or node.name) | lower == relation.identifier | lower
        and node.schema | lower == relation.schema | lower -%}
        {{- return(node) -}}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error('no dbt node builds ' ~ relation) -}}
{% endmacro %}


{#- Every ancestor of a graph node (models, seeds, snapshots and sources), nearest first. -#}
{% macro tinytracker_upstream_nodes(node) %}
    {%- set seen = [] -%}
    {%- set found = [] -%}
    {%- set queue = node.depends_on.nodes | list -%}
    {#- Jinja has no while loop: a queue that only grows by unseen ids ends within the
        graph's size. -#}
    {%- for unique_id in queue -%}
        {%- if unique_id not in seen -%}
            {%- do seen.append(unique_id) -%}
            {%- set parent = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
            {%- if parent -%}
                {%- do found.append(parent) -%}
                {%- for grandparent in (parent.depends_on or {}).get('nodes', []) -%}
                    {%- do queue.append(grandparent) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(found) -}}
{% endmacro %}


{#- A column's meta, wherever the YAML put it (`config: meta:` or the older `meta:`). -#}
{% macro tinytracker_column_meta(column) %}
    {%- set merged = {} -%}
    {%- do merged.update(column.get('meta') or {}) -%}
    {%- do merged.update((column.get('config') or {}).get('meta') or {}) -%}
    {{- return(merged) -}}
{% endmacro %}
