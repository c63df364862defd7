{#- Picks, for each need (`need_keys`), the cheapest candidate of `candidates` (one row per
    candidate, its cells in `cell_columns`): lowest tier of the cells it adds, then fewest
    pupils added, then `option_keys` order. Emits `name`_chosen (need and option keys,
    cell_id). -#}
{% macro suppression_choose(
    name, candidates, need_keys, option_keys, cell_columns, state, count_column
) %}
    {%- set keys = need_keys + option_keys %}
    {{ name }}_cells as (

        {% for cell_column in cell_columns -%}
            select
                {{ keys | join(', ') }},
                {{ cell_column }} as cell_id
            from {{ candidates }}
            {% if not loop.last %}union{% endif %}
        {% endfor %}

    ),

    {{ name }}_ranked as (

        select
            {% for key in keys -%}
                candidate_cells.{{ key }},
            {% endfor -%}
            row_number() over (
                partition by
                    {% for key in need_keys -%}
                        candidate_cells.{{ key }}{% if not loop.last %},{% endif %}
                    {% endfor %}
                order by
                    max(case when cell_state.is_suppressed then 0 else cells.tier end),
                    sum(case when cell_state.is_suppressed then 0 else cells.{{ count_column }} end),
                    {% for key in option_keys -%}
                        candidate_cells.{{ key }}{% if not loop.last %},{% endif %}
                    {% endfor %}
            ) as preference
        from {{ name }}_cells as candidate_cells
        inner join {{ state }} as cell_state
            on candidate_cells.cell_id = cell_state.cell_id
        inner join sc_cells as cells
            on candidate_cells.cell_id = cells.cell_id
        group by
            {% for key in keys -%}
                candidate_cells.{{ key }}{% if not loop.last %},{% endif %}
            {% endfor %}

    ),

    {{ name }}_chosen as (

        select candidate_cells.*
        from {{ name }}_cells as candidate_cells
        inner join {{ name }}_ranked as ranked
            on
                {% for key in keys -%}
                    candidate_cells.{{ key }} = ranked.{{ key }}
                    {% if not loop.last %}and {% endif %}
                {%- endfor %}
        where ranked.preference = 1

    ),
{% endmacro %}
