{#- The three rules that suppress_small_cells applies in rounds (see its docs block
    `suppress_small_cells` in _marts__macros.md): rule 1 (lines), rule 2 (links, C2) and
    rule 3 (rectangles, C3), and the cheapest-candidate choice that rules 2 and 3 share.
    Each emits CTEs named after `step`; `state` is the CTE (cell_id, is_suppressed) the step
    starts from. -#}

{#- Rule 1: lines whose withheld parts, taken together, break `rule` (too few pupils, a
    numerator of 1 or 2, one pupil dominating a sum...), and the single withheld key-stage
    total. A line in need gives up its cheapest published parts (fewest `count_column`
    first) until the withheld parts together keep the rule, or all of them. The parts of a
    line share out its total's pupils, so once all are withheld together they are the
    total's group, which keeps the rule (it is published); the line needs nothing more. -#}
{% macro suppression_line_step(step, state, count_column, rule, check_only=false) %}
    {%- set aggregates = rule['aggregates'] %}
    {{ step }}_lines as (

        select
            members.part_id,
            members.line_key,
            max(case when members.is_total_line then 1 else 0 end) as is_total_line,
            max(
                case when members.is_total and cell_state.is_suppressed then 1 else 0 end
            ) as is_total_suppressed,
            sum(case when cell_state.is_suppressed then 1 else 0 end) as suppressed_cells,
            sum(
                case when cell_state.is_suppressed and not members.is_total then 1 else 0 end
            ) as suppressed_parts,
            sum(
                case when not cell_state.is_suppressed and not members.is_total then 1 else 0 end
            ) as published_parts,
            {% for name, aggregate in aggregates.items() -%}
                {{ aggregate[0] }}(
                    case
                        when cell_state.is_suppressed and not members.is_total
                            then cells.{{ aggregate[1] }}
                        else 0
                    end
                ) as suppressed_{{ name }}{% if not loop.last %},{% endif %}
            {% endfor %}
        from sc_line_members as members
        inner join {{ state }} as cell_state
            on members.cell_id = cell_state.cell_id
        inner join sc_cells as cells
            on members.cell_id = cells.cell_id
        group by members.part_id, members.line_key

    ),

    {%- set hidden = {} %}
    {%- for name in aggregates %}
        {%- do hidden.update({name: 'suppressed_' ~ name}) %}
    {%- endfor %}
    {{ step }}_line_needs as (

        select
            *,
            case when is_total_line = 1 and suppressed_cells = 1 then 1 else 0 end
                as is_single_total,
            case
                when
                    is_total_suppressed = 0
                    and suppressed_parts > 0
                    and published_parts > 0
                    and {{ suppression_unsafe(rule, hidden, exact=false) }}
                    then 1
                else 0
            end as is_unsafe
        from {{ step }}_lines
        where
            (is_total_line = 1 and suppressed_cells = 1)
            or (
                is_total_suppressed = 0
                and suppressed_parts > 0
                and published_parts > 0
                and {{ suppression_unsafe(rule, hidden, exact=false) }}
            )

    ),

    {% if not check_only -%}
    {%- set order_in_line -%}
        case when members.is_total then 1 else 0 end,
        cells.{{ count_column }},
        cells.tier,
        members.cell_id
    {%- endset %}
    {{ step }}_line_candidates as (

        select
            members.part_id,
            members.line_key,
            members.cell_id,
            members.is_total,
            {% for name, aggregate in aggregates.items() -%}
                coalesce({{ aggregate[0] }}(cells.{{ aggregate[1] }}) over (
                    partition by members.part_id, members.line_key
                    order by {{ order_in_line }}
                    rows between unbounded preceding and current row
                ), 0) as through_{{ name }},
            {% endfor -%}
            row_number() over (
                partition by members.part_id, members.line_key
                order by {{ order_in_line }}
            ) as preference
        from sc_line_members as members
        inner join {{ state }} as cell_state
            on members.cell_id = cell_state.cell_id
        inner join sc_cells as cells
            on members.cell_id = cells.cell_id
        where not cell_state.is_suppressed

    ),

    {#- Withheld with its cheaper parts, is each candidate enough for the line? #}
    {%- set reached = {} %}
    {%- for name, aggregate in aggregates.items() %}
        {%- if aggregate[0] == 'max' %}
            {%- do reached.update({name: 'greatest(needs.suppressed_' ~ name
                ~ ', candidates.through_' ~ name ~ ')'}) %}
        {%- else %}
            {%- do reached.update({name: '(needs.suppressed_' ~ name
                ~ ' + candidates.through_' ~ name ~ ')'}) %}
        {%- endif %}
    {%- endfor %}
    {{ step }}_line_reach as (

        select
            candidates.part_id,
            candidates.line_key,
            candidates.cell_id,
            candidates.is_total,
            candidates.preference,
            needs.is_single_total,
            needs.is_unsafe,
            not {{ suppression_unsafe(rule, reached, exact=false) }} as is_enough
        from {{ step }}_line_candidates as candidates
        inner join {{ step }}_line_needs as needs
            on
                candidates.part_id = needs.part_id
                and candidates.line_key = needs.line_key

    ),

    {{ step }}_line_first_enough as (

        select
            part_id,
            line_key,
            min(preference) as first_enough
        from {{ step }}_line_reach
        where is_enough and not is_total
        group by part_id, line_key

    ),

    {{ step }}_line_choice as (

        select distinct reach.cell_id
        from {{ step }}_line_reach as reach
        left join {{ step }}_line_first_enough as enough
            on
                reach.part_id = enough.part_id
                and reach.line_key = enough.line_key
        where
            (reach.is_single_total = 1 and reach.preference = 1)
            or (
                reach.is_unsafe = 1
                and (
                    (
                        not reach.is_total
                        and reach.preference <= coalesce(enough.first_enough, reach.preference)
                    )
                )
            )

    ),

    {{ step }}_lines_done as (

        select
            cell_state.cell_id,
            cell_state.is_suppressed or choice.cell_id is not null as is_suppressed
        from {{ state }} as cell_state
        left join {{ step }}_line_choice as choice
            on cell_state.cell_id = choice.cell_id

    ),
    {%- endif %}
{% endmacro %}

{#- Rule 2 (C2): consecutive withheld key-stage totals joined in every table. -#}
{% macro suppression_link_step(step, state, count_column, check_only=false) %}
    {{ step }}_withheld_edges_l as (

        select
            edges.part_id,
            edges.table_key,
            edges.row_node,
            edges.column_node,
            edges.cell_id,
            edges.is_total_column
        from sc_edges as edges
        inner join {{ state }} as cell_state
            on edges.cell_id = cell_state.cell_id
        where cell_state.is_suppressed

    ),

    {{ step }}_total_positions as (

        select
            withheld.part_id,
            withheld.row_node,
            row_number() over (
                partition by withheld.part_id
                order by min(cells.{{ count_column }}), withheld.row_node
            ) as position
        from {{ step }}_withheld_edges_l as withheld
        inner join sc_cells as cells
            on withheld.cell_id = cells.cell_id
        where withheld.is_total_column
        group by withheld.part_id, withheld.row_node

    ),

    {{ step }}_rows_meeting_all as (

        select distinct
            own.part_id,
            own.table_key,
            own.row_node
        from {{ step }}_withheld_edges_l as own
        inner join {{ step }}_withheld_edges_l as margin
            on
                own.part_id = margin.part_id
                and own.table_key = margin.table_key
                and own.column_node = margin.column_node
        where margin.row_node = 'all' and not own.is_total_column

    ),

    {{ step }}_unlinked as (

        select
            first_total.part_id,
            tables.table_key,
            first_total.row_node as row_a,
            second_total.row_node as row_b
        from {{ step }}_total_positions as first_total
        inner join {{ step }}_total_positions as second_total
            on
                first_total.part_id = second_total.part_id
                and first_total.position + 1 = second_total.position
        inner join sc_tables as tables
            on first_total.part_id = tables.part_id
        where
            not exists (
                select 1
                from {{ step }}_withheld_edges_l as edge_a
                inner join {{ step }}_withheld_edges_l as edge_b
                    on
                        edge_a.part_id = edge_b.part_id
                        and edge_a.table_key = edge_b.table_key
                        and edge_a.column_node = edge_b.column_node
                where
                    edge_a.part_id = first_total.part_id
                    and edge_a.table_key = tables.table_key
                    and edge_a.row_node = first_total.row_node
                    and edge_b.row_node = second_total.row_node
                    and not edge_a.is_total_column
            )
            and not (
                exists (
                    select 1
                    from {{ step }}_rows_meeting_all as meeting
                    where
                        meeting.part_id = first_total.part_id
                        and meeting.table_key = tables.table_key
                        and meeting.row_node = first_total.row_node
                )
                and exists (
                    select 1
                    from {{ step }}_rows_meeting_all as meeting
                    where
                        meeting.part_id = second_total.part_id
                        and meeting.table_key = tables.table_key
                        and meeting.row_node = second_total.row_node
                )
            )

    ),

    {% if not check_only -%}
    {{ step }}_link_paths as (

        select
            unlinked.part_id,
            unlinked.table_key,
            unlinked.row_a,
            unlinked.row_b,
            0 as path_kind,
            edge_a.column_node as column_a,
            edge_b.column_node as column_b,
            edge_a.cell_id as cell_1,
            edge_b.cell_id as cell_2,
            edge_a.cell_id as cell_3,
            edge_b.cell_id as cell_4
        from {{ step }}_unlinked as unlinked
        inner join sc_edges as edge_a
            on
                unlinked.part_id = edge_a.part_id
                and unlinked.table_key = edge_a.table_key
                and unlinked.row_a = edge_a.row_node
        inner join sc_edges as edge_b
            on
                unlinked.part_id = edge_b.part_id
                and unlinked.table_key = edge_b.table_key
                and unlinked.row_b = edge_b.row_node
                and edge_a.column_node = edge_b.column_node
        where not edge_a.is_total_column

        union all

        select
            unlinked.part_id,
            unlinked.table_key,
            unlinked.row_a,
            unlinked.row_b,
            1 as path_kind,
            edge_a.column_node as column_a,
            edge_b.column_node as column_b,
            edge_a.cell_id as cell_1,
            margin_a.cell_id as cell_2,
            margin_b.cell_id as cell_3,
            edge_b.cell_id as cell_4
        from {{ step }}_unlinked as unlinked
        inner join sc_edges as edge_a
            on
                unlinked.part_id = edge_a.part_id
                and unlinked.table_key = edge_a.table_key
                and unlinked.row_a = edge_a.row_node
        inner join sc_edges as margin_a
            on
                edge_a.part_id = margin_a.part_id
                and edge_a.table_key = margin_a.table_key
                and edge_a.column_node = margin_a.column_node
                and margin_a.row_node = 'all'
        inner join sc_edges as edge_b
            on
                unlinked.part_id = edge_b.part_id
                and unlinked.table_key = edge_b.table_key
                and unlinked.row_b = edge_b.row_node
                and edge_a.column_node <> edge_b.column_node
        inner join sc_edges as margin_b
            on
                edge_b.part_id = margin_b.part_id
                and edge_b.table_key = margin_b.table_key
                and edge_b.column_node = margin_b.column_node
                and margin_b.row_node = 'all'
        where
            unlinked.row_a <> 'all'
            and unlinked.row_b <> 'all'
            and not edge_a.is_total_column
            and not edge_b.is_total_column

    ),

    {{ suppression_choose(
        step ~ '_link',
        step ~ '_link_paths',
        ['part_id', 'table_key', 'row_a', 'row_b'],
        ['path_kind', 'column_a', 'column_b'],
        ['cell_1', 'cell_2', 'cell_3', 'cell_4'],
        state,
        count_column
    ) }}

    {{ step }}_links_done as (

        select
            cell_state.cell_id,
            cell_state.is_suppressed or chosen.cell_id is not null as is_suppressed
        from {{ state }} as cell_state
        left join (
            select distinct cell_id from {{ step }}_link_chosen
        ) as chosen
            on cell_state.cell_id = chosen.cell_id

    ),
    {%- endif %}
{% endmacro %}

{#- Rule 3 (C3): every withheld cell on a cycle of withheld cells: a rectangle, or a cycle of
    six through two withheld key-stage totals and the all-key-stages row (a join of rule 2). -#}
{% macro suppression_rectangle_step(step, state, count_column, next_state, check_only=false) %}
    {{ step }}_withheld_edges_r as (

        select
            edges.part_id,
            edges.table_key,
            edges.row_node,
            edges.column_node,
            edges.cell_id,
            edges.is_total_column
        from sc_edges as edges
        inner join {{ state }} as cell_state
            on edges.cell_id = cell_state.cell_id
        where cell_state.is_suppressed

    ),

    {#- (row, column) where a row with a withheld total meets the all-key-stages row. #}
    {{ step }}_meetings as (

        select
            own.part_id,
            own.table_key,
            own.row_node,
            own.column_node
        from {{ step }}_withheld_edges_r as own
        inner join {{ step }}_withheld_edges_r as margin
            on
                own.part_id = margin.part_id
                and own.table_key = margin.table_key
                and own.column_node = margin.column_node
                and margin.row_node = 'all'
        inner join {{ step }}_withheld_edges_r as own_total
            on
                own.part_id = own_total.part_id
                and own.table_key = own_total.table_key
                and own.row_node = own_total.row_node
                and own_total.is_total_column
        where own.row_node <> 'all' and not own.is_total_column

    ),

    {{ step }}_on_six_cycles as (

        select
            first_meeting.part_id,
            first_meeting.table_key,
            first_meeting.row_node,
            first_meeting.column_node
        from {{ step }}_meetings as first_meeting
        where exists (
            select 1
            from {{ step }}_meetings as second_meeting
            where
                first_meeting.part_id = second_meeting.part_id
                and first_meeting.table_key = second_meeting.table_key
                and first_meeting.row_node <> second_meeting.row_node
                and first_meeting.column_node <> second_meeting.column_node
        )

    ),

    {{ step }}_uncovered as (

        select
            own.part_id,
            own.table_key,
            own.row_node,
            own.column_node
        from {{ step }}_withheld_edges_r as own
        where
            not own.is_total_column
            and not exists (
                select 1
                from {{ step }}_on_six_cycles as cycle_cells
                where
                    cycle_cells.part_id = own.part_id
                    and cycle_cells.table_key = own.table_key
                    and cycle_cells.column_node = own.column_node
                    and (own.row_node = 'all' or cycle_cells.row_node = own.row_node)
            )
            and not exists (
                select 1
                from {{ step }}_withheld_edges_r as same_row
                inner join {{ step }}_withheld_edges_r as same_column
                    on
                        same_row.part_id = same_column.part_id
                        and same_row.table_key = same_column.table_key
                inner join {{ step }}_withheld_edges_r as opposite
                    on
                        same_column.part_id = opposite.part_id
                        and same_column.table_key = opposite.table_key
                        and same_column.row_node = opposite.row_node
                        and same_row.column_node = opposite.column_node
                where
                    same_row.part_id = own.part_id
                    and same_row.table_key = own.table_key
                    and same_row.row_node = own.row_node
                    and same_row.column_node <> own.column_node
                    and same_column.column_node = own.column_node
                    and same_column.row_node <> own.row_node
            )

    ),

    {% if not check_only -%}
    {{ step }}_rectangles as (

        select
            uncovered.part_id,
            uncovered.table_key,
            uncovered.row_node,
            uncovered.column_node,
            opposite.row_node as other_row,
            same_row.column_node as other_column,
            same_row.cell_id as cell_1,
            same_column.cell_id as cell_2,
            opposite.cell_id as cell_3
        from {{ step }}_uncovered as uncovered
        inner join sc_edges as same_row
            on
                uncovered.part_id = same_row.part_id
                and uncovered.table_key = same_row.table_key
                and uncovered.row_node = same_row.row_node
                and uncovered.column_node <> same_row.column_node
        inner join sc_edges as same_column
            on
                uncovered.part_id = same_column.part_id
                and uncovered.table_key = same_column.table_key
                and uncovered.column_node = same_column.column_node
                and uncovered.row_node <> same_column.row_node
        inner join sc_edges as opposite
            on
                same_column.part_id = opposite.part_id
                and same_column.table_key = opposite.table_key
                and same_column.row_node = opposite.row_node
                and same_row.column_node = opposite.column_node

    ),

    {{ suppression_choose(
        step ~ '_rectangle',
        step ~ '_rectangles',
        ['part_id', 'table_key', 'row_node', 'column_node'],
        ['other_row', 'other_column'],
        ['cell_1', 'cell_2', 'cell_3'],
        state,
        count_column
    ) }}

    {{ next_state }} as (

        select
            cell_state.cell_id,
            cell_state.is_suppressed or chosen.cell_id is not null as is_suppressed
        from {{ state }} as cell_state
        left join (
            select distinct cell_id from {{ step }}_rectangle_chosen
        ) as chosen
            on cell_state.cell_id = chosen.cell_id

    ),
    {%- endif %}
{% endmacro %}

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
