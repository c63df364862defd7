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
