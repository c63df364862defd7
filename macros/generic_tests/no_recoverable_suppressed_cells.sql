{#- Fails with one row per way a withheld value of `model` could be worked out from the
    published values alone (what an analyst of the mart sees), judged for each partition as
    a whole, not line by line.

    Model (macro suppress_small_cells explains it): one table per group type, rows the
    breakdown values (key stages) plus 'all', columns the group values plus '*' (the
    key-stage totals, the same cells in every table; a mart without groups has its breakdown
    as the one table; a mart without breakdown repeats its one row as 'all'). Withheld cells
    are the edges of a bipartite graph on the rows and columns. A withheld cell is
    determined by its table exactly when it is a bridge of that graph. Failures:
    - `bridge`: a withheld cell on no cycle of withheld cells in its table (found by graph
      search with that cell removed: its row cannot reach its column);
    - `single_withheld_total`: exactly one key-stage total withheld in a partition (with the
      partition total), which the totals' line gives away;
    - `totals_not_joined`: a table in which the rows whose totals are withheld are not all
      connected through withheld cells outside the '*' column: a cycle through the totals in
      another table then does not carry over, and the totals can be solved across tables;
    - `small_hidden_group`: a line whose total is published while its withheld parts add up
      (total minus the published parts) to fewer than the minimum (min_cell_size pupils, or
      `minimum_counts` such as organisations): the hidden cells form a small group.
    Without a bridge, with the totals joined in every table and never withheld alone, no
    withheld value is determined by the whole linear system (the macro's docstring gives the
    argument). `measures` are checked the same way on their own nulls (a measure withheld
    for too few pupils with a value, e.g. an average over scored pupils, while its cell is
    published). -#}
{% test no_recoverable_suppressed_cells(
    model, partition_by, breakdown=none, grouped=true, measures=[], minimum_counts={}
) %}

    {%- set is_grid = grouped and breakdown -%}
    {%- set thresholds = {'pupil_count': var('min_cell_size') | int} -%}
    {%- for column, minimum in minimum_counts.items() -%}
        {%- do thresholds.update({column: minimum | int}) -%}
    {%- endfor -%}
    {%- set label_parts = [] -%}
    {%- for key in partition_by -%}
        {%- if not loop.first %}{% do label_parts.append("' / '") %}{% endif -%}
        {%- do label_parts.append(dbt.cast(key, dbt.type_string())) -%}
    {%- endfor -%}

    with recursive

    published as (

        select * from {{ model }}

    ),

    cells as (

        select
            row_number() over (order by {{ partition_by | join(', ') }}) as cell_id,
            dense_rank() over (order by {{ partition_by | join(', ') }}) as part_id,
            {{ dbt.concat(label_parts) }} as partition_label,
            {% if is_grid -%}
                {{ breakdown }} as row_key,
            {%- else -%}
                'all' as row_key,
            {%- endif %}
            {% if grouped -%}
                case when group_type = 'all' then '*' else group_type end as table_key,
                case when group_type = 'all' then '*' else group_value end as column_key,
            {%- elif breakdown -%}
                '_' as table_key,
                case
                    when {{ breakdown }} = 'all' then '*' else {{ breakdown }}
                end as column_key,
            {%- else -%}
                '_' as table_key,
                '*' as column_key,
            {%- endif %}
            {% for column in thresholds -%}
                {{ column }},
            {% endfor -%}
            is_suppressed
            {%- for measure in measures %},
                is_suppressed or {{ measure }} is null as is_withheld_{{ loop.index }}
            {%- endfor %}
        from published

    ),

    withheld_cells as (

        select
            'cells' as pattern,
            cell_id,
            part_id,
            partition_label,
            row_key,
            table_key,
            column_key
        from cells
        where is_suppressed
        {% for measure in measures %}
            union all
            select
                '{{ measure }}' as pattern,
                cell_id,
                part_id,
                partition_label,
                row_key,
                table_key,
                column_key
            from cells
            where is_withheld_{{ loop.index }}
        {% endfor %}

    ),

    tables as (

        select distinct
            part_id,
            table_key
        from cells
        where column_key <> '*'

    ),

    row_copies as (

        {% if is_grid -%}
            select 'same' as copy_kind, cast(null as {{ dbt.type_string() }}) as row_node
        {%- else -%}
            select 'copy' as copy_kind, 'part' as row_node
            union all
            select 'copy' as copy_kind, 'all' as row_node
        {%- endif %}

    ),

    {#- Withheld cells as edges: a key-stage total in every table of its partition, a cell
        of a mart without breakdown in both copies of the row. #}
    withheld_edges as (

        select
            row_number() over (
                order by
                    withheld.pattern, withheld.cell_id, tables.table_key, copies.row_node
            ) as edge_id,
            withheld.pattern,
            withheld.part_id,
            withheld.partition_label,
            tables.table_key,
            coalesce(copies.row_node, withheld.row_key) as row_node,
            withheld.column_key as column_node,
            withheld.column_key = '*' as is_total_column
        from withheld_cells as withheld
        inner join tables
            on
                withheld.part_id = tables.part_id
                and (withheld.table_key = tables.table_key or withheld.column_key = '*')
        cross join row_copies as copies

    ),

    adjacency as (

        select
            pattern,
            part_id,
            table_key,
            edge_id,
            is_total_column,
            {{ dbt.concat(["'r|'", 'row_node']) }} as from_node,
            {{ dbt.concat(["'c|'", 'column_node']) }} as to_node
        from withheld_edges

        union all

        select
            pattern,
            part_id,
            table_key,
            edge_id,
            is_total_column,
            {{ dbt.concat(["'c|'", 'column_node']) }} as from_node,
            {{ dbt.concat(["'r|'", 'row_node']) }} as to_node
        from withheld_edges

    ),

    {#- From each withheld cell's row, every node reachable without that cell. #}
    bridge_search as (

        select
            edge_id as removed_edge_id,
            pattern,
            part_id,
            table_key,
            {{ dbt.concat(["'r|'", 'row_node']) }} as node
        from withheld_edges

        union

        select
            search.removed_edge_id,
            search.pattern,
            search.part_id,
            search.table_key,
            adjacency.to_node as node
        from bridge_search as search
        inner join adjacency
            on
                search.pattern = adjacency.pattern
                and search.part_id = adjacency.part_id
                and search.table_key = adjacency.table_key
                and search.node = adjacency.from_node
                and search.removed_edge_id <> adjacency.edge_id

    ),

    bridges as (

        select
            'bridge' as failure,
            edges.pattern,
            edges.partition_label,
            edges.table_key,
            edges.row_node,
            edges.column_node
        from withheld_edges as edges
        where not exists (
            select 1
            from bridge_search as search
            where
                search.removed_edge_id = edges.edge_id
                and search.node = {{ dbt.concat(["'c|'", 'edges.column_node']) }}
        )

    ),

    withheld_totals as (

        select distinct
            pattern,
            part_id,
            partition_label,
            row_node
        from withheld_edges
        where is_total_column

    ),

    single_withheld_totals as (

        {% if is_grid -%}
            select
                'single_withheld_total' as failure,
                withheld.pattern,
                withheld.partition_label,
                '*' as table_key,
                min(withheld.row_key) as row_node,
                '*' as column_node
            from withheld_cells as withheld
            where withheld.column_key = '*'
            group by withheld.pattern, withheld.part_id, withheld.partition_label
            having count(*) = 1
        {%- else -%}
            select
                'single_withheld_total' as failure,
                pattern,
                partition_label,
                table_key,
                row_node,
                column_node
            from bridges
            where 1 = 0
        {%- endif %}

    ),

    {#- From the first row with a withheld total, in every table, the nodes reachable
        through withheld cells outside the '*' column. #}
    component_search as (

        select
            totals.pattern,
            totals.part_id,
            tables.table_key,
            {{ dbt.concat(["'r|'", 'min(totals.row_node)']) }} as node
        from withheld_totals as totals
        inner join tables
            on totals.part_id = tables.part_id
        group by totals.pattern, totals.part_id, tables.table_key

        union

        select
            search.pattern,
            search.part_id,
            search.table_key,
            adjacency.to_node as node
        from component_search as search
        inner join adjacency
            on
                search.pattern = adjacency.pattern
                and search.part_id = adjacency.part_id
                and search.table_key = adjacency.table_key
                and search.node = adjacency.from_node
                and not adjacency.is_total_column

    ),

    totals_not_joined as (

        select
            'totals_not_joined' as failure,
            totals.pattern,
            totals.partition_label,
            tables.table_key,
            totals.row_node,
            '*' as column_node
        from withheld_totals as totals
        inner join tables
            on totals.part_id = tables.part_id
        where not exists (
            select 1
            from component_search as search
            where
                search.pattern = totals.pattern
                and search.part_id = totals.part_id
                and search.table_key = tables.table_key
                and search.node = {{ dbt.concat(["'r|'", 'totals.row_node']) }}
        )

    ),

    {#- Lines of published values: each row of a table (its total in '*'), each column of a
        grid (its total in row 'all') and the key-stage totals' line. #}
    line_members as (

        select
            {{ dbt.concat(["'row|'", 'tables.table_key', "'|'", 'cells.row_key']) }}
                as line_key,
            cells.part_id,
            cells.partition_label,
            cells.column_key = '*' as is_total,
            cells.is_suppressed
            {%- for column in thresholds %},
                cells.{{ column }}
            {%- endfor %}
        from cells
        inner join tables
            on
                cells.part_id = tables.part_id
                and (cells.table_key = tables.table_key or cells.column_key = '*')
        {% if is_grid %}
            union all

            select
                {{ dbt.concat(["'column|'", 'table_key', "'|'", 'column_key']) }}
                    as line_key,
                part_id,
                partition_label,
                row_key = 'all' as is_total,
                is_suppressed
                {%- for column in thresholds %},
                    {{ column }}
                {%- endfor %}
            from cells
        {% endif %}

    ),

    lines as (

        select
            part_id,
            partition_label,
            line_key,
            max(case when is_total and is_suppressed then 1 else 0 end) as is_total_suppressed,
            sum(case when is_suppressed and not is_total then 1 else 0 end) as withheld_parts
            {%- for column in thresholds %},
                sum(case when is_total then {{ column }} else 0 end)
                - sum(case when not is_total and not is_suppressed then {{ column }} else 0 end)
                    as hidden_{{ column }}
            {%- endfor %}
        from line_members
        group by part_id, partition_label, line_key

    ),

    small_hidden_groups as (

        select
            'small_hidden_group' as failure,
            'cells' as pattern,
            partition_label,
            line_key as table_key,
            cast(null as {{ dbt.type_string() }}) as row_node,
            cast(null as {{ dbt.type_string() }}) as column_node
        from lines
        where
            is_total_suppressed = 0
            and withheld_parts > 0
            and (
                {% for column, minimum in thresholds.items() -%}
                    hidden_{{ column }} < {{ minimum }}
                    {%- if not loop.last %} or {% endif %}
                {% endfor %}
            )

    ),

    failures as (

        select * from bridges
        union all
        select * from single_withheld_totals
        union all
        select * from totals_not_joined
        union all
        select * from small_hidden_groups

    )

    select * from failures

{% endtest %}
