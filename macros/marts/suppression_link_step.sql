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
