{#- Fails with one row per direct parent of `model` that is not an intermediate model.

    Marts are read by analysts and published to the analyst database, so they may only be
    built from the de-identified intermediate layer (models/intermediate, keyed by the random
    pupil_key). A mart that refs a staging model, a source or a seed directly could pick up a
    MIS id or a name without passing through the layer that drops them. -#}
{% test selects_only_from_intermediate(model) %}

    {%- set offending = [] -%}
    {%- if execute -%}
        {%- set node = tinytracker_graph_node_for(model) -%}
        {%- for unique_id in node.depends_on.nodes -%}
            {%- set parent = graph.nodes.get(unique_id) -%}
            {%- if not (parent and parent.resource_type == 'model'
                and parent.fqn | length > 2 and parent.fqn[1] == 'intermediate') -%}
                {%- do offending.append(unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if offending | length == 0 %}
    select cast(null as {{ dbt.type_string() }}) as parent_node
    where 1 = 0
    {%- else %}
        {%- for unique_id in offending %}
    select '{{ unique_id }}' as parent_node
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

{% endtest %}
