{#- The data tests' results, kept in the warehouse so the DPO report reads its checks section
    with SQL like every other section (models/reporting/rpt_dpo_checks.sql).

    on-run-start creates reporting.dbt_test_results if it is missing; on-run-end appends one
    row per data test the invocation ran (unit tests prove SQL on fixtures, not the data, and
    are left out), with what the test guards: the relation and column it is attached to and,
    for a singular test, the "What it guards" line of its header (tests/README convention).
    A dry-run build (var retention_schema set: tinytracker retention plan) tests copies in
    another schema, so it records nothing. -#}

{% macro create_test_results_table() %}
    {{- return(adapter.dispatch('create_test_results_table', 'tinytracker')()) -}}
{% endmacro %}

{% macro default__create_test_results_table() -%}
    create schema if not exists reporting;
    create table if not exists reporting.dbt_test_results (
        invocation_id {{ dbt.type_string() }},
        executed_at {{ dbt.type_timestamp() }},
        as_of {{ dbt.type_string() }},
        test_unique_id {{ dbt.type_string() }},
        test_name {{ dbt.type_string() }},
        test_kind {{ dbt.type_string() }},
        guarded_layer {{ dbt.type_string() }},
        guarded_relation {{ dbt.type_string() }},
        guarded_column {{ dbt.type_string() }},
        what_it_guards {{ dbt.type_string() }},
        severity {{ dbt.type_string() }},
        status {{ dbt.type_string() }},
        failures {{ dbt.type_bigint() }},
        message {{ dbt.type_string() }}
    )
{%- endmacro %}


{% macro record_test_results(results) %}
    {{- return(adapter.dispatch('record_test_results', 'tinytracker')(results)) -}}
{% endmacro %}

{% macro default__record_test_results(results) -%}
    {%- set rows = [] -%}
    {%- if execute and not var('retention_schema', none) -%}
        {%- for result in results if result.node.resource_type == 'test' -%}
            {%- set node = result.node -%}
            {%- set guarded = tinytracker.test_guarded_node(node) -%}
            {%- set values = [
                invocation_id,
                run_started_at.strftime('%Y-%m-%d %H:%M:%S'),
                (var('as_of', none) or env_var('TINYTRACKER_AS_OF', '')) | string,
                node.unique_id,
                node.name,
                node.test_metadata.name if node.test_metadata else 'singular',
                guarded.layer,
                guarded.relation,
                node.column_name or '',
                tinytracker.test_what_it_guards(node, guarded.node),
                node.config.severity | lower,
                result.status | string | lower,
                result.failures,
                (result.message or '') | string,
            ] -%}
            {%- set quoted = [] -%}
            {%- for value in values -%}
                {%- if value is none -%}
                    {%- do quoted.append('null') -%}
                {%- elif value is number -%}
                    {%- do quoted.append(value | string) -%}
                {%- else -%}
                    {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do rows.append('(' ~ quoted | join(', ') ~ ')') -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if rows -%}
        insert into reporting.dbt_test_results values
        {{ rows | join(',\n') }}
    {%- else -%}
        select 1 as nothing_to_record
    {%- endif -%}
{%- endmacro %}


{#- The node a test guards (its attached model, seed or source; else its first parent),
    with its layer (the model folder, `source` or `seed`) and schema.name. -#}
{% macro test_guarded_node(test_node) %}
    {%- set parents = test_node.depends_on.nodes | list -%}
    {%- set unique_id = test_node.attached_node or (parents[0] if parents else none) -%}
    {%- set found = none -%}
    {%- if unique_id -%}
        {%- set found = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
    {%- endif -%}
    {%- if not found -%}
        {{- return({'node': none, 'layer': '', 'relation': ''}) -}}
    {%- endif -%}
    {%- if found.resource_type == 'source' -%}
        {%- set layer = 'source' -%}
        {%- set relation = found.schema ~ '.' ~ (found.identifier or found.name) -%}
    {%- else -%}
        {%- set layer = found.fqn[1] if found.resource_type == 'model' and found.fqn | length > 2
            else found.resource_type -%}
        {%- set relation = found.schema ~ '.' ~ (found.alias or found.name) -%}
    {%- endif -%}
    {{- return({'node': found, 'layer': layer, 'relation': relation}) -}}
{% endmacro %}


{#- One paragraph saying what a test protects: the test's own description; for a singular
    test the "What it guards:" (or "What:") paragraph of its header; else the guarded column's
    or relation's description. -#}
{% macro test_what_it_guards(test_node, guarded_node) %}
    {%- if test_node.description -%}
        {{- return(test_node.description | trim) -}}
    {%- endif -%}
    {%- set words = [] -%}
    {%- set state = namespace(reading=false) -%}
    {%- for line in (test_node.raw_code or '').split('\n') -%}
        {%- set text = line | trim -%}
        {%- set comment = text[2:] | trim if text.startswith('--') else none -%}
        {%- if comment is not none and (comment.startswith('What it guards:')
            or comment.startswith('What:')) -%}
            {%- set state.reading = true -%}
            {%- do words.append(comment.split(':', 1)[1] | trim) -%}
        {%- elif state.reading and comment is not none and not (comment.startswith('When ')
            or comment.startswith('How ')) -%}
            {%- do words.append(comment) -%}
        {%- else -%}
            {%- set state.reading = false -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if words -%}
        {{- return(words | join(' ')) -}}
    {%- endif -%}
    {%- if guarded_node is none -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set column = guarded_node.columns.get(test_node.column_name or '') -%}
    {{- return(((column or {}).get('description') or guarded_node.description or '') | trim) -}}
{% endmacro %}
