{#- Disclosure control for every mart: the one place the suppression rule lives.

    Input: a relation (usually a CTE name) of unsuppressed aggregate cells. Each cell has the
    columns in `partition_by`, optionally a `breakdown` column whose value 'all' is the total
    of its other values (e.g. key_stage), optionally (`grouped`) the columns group_type and
    group_value where the row ('all', 'all') holds all pupils, an integer `pupil_count` and the
    `measures`. Output: the same cells with `is_suppressed`; a suppressed cell has pupil_count
    and every measure null (rendered as `c`, as DfE publications do).

    The guarantee. Within one partition an analyst knows every relation between the published
    figures: for each group type, the values of a key stage add up to the key stage's total,
    the key stages of a value add up to its all-key-stages cell, and the key-stage totals
    (shared by every group type) add up to the partition's total; a combination with no row
    is a known zero. After suppression no withheld count is determined by that whole linear
    system, nor is any withheld measure numerator (a rate times its pupils): the numerators
    obey the same relations with the same unknowns. In addition no line (a set of parts with
    a published total) hides fewer than min_cell_size pupils in all, so the hidden cells of a
    line never form a small group either. Cells with no pupils are not rows at all.

    Why it holds (the model the rules below are built on). Write one group type's cells as a
    table: rows are the key stages plus 'all', columns its values plus '*' (the key-stage
    total). Each cell lies in exactly one row relation and one column relation, so the table
    is a bipartite graph (rows and columns are nodes, each suppressed cell an edge joining
    its row and column) and a withheld cell is solvable from its table exactly when it is a
    bridge: when it lies on no cycle of suppressed cells. The '*' cells are the same numbers
    in every group type's table, which couples the tables; the rules keep that coupling
    harmless by suppressing key-stage totals together and joining them in every table:
      C1  no partition withholds exactly one key-stage total (with the partition total);
      C2  in every group type's table the rows whose totals are withheld are connected
          through withheld cells of that table outside the '*' column;
      C3  every withheld cell lies on a cycle of withheld cells in its table.
    Under C2 any cycle of one table, whichever totals it passes through, extends to every
    other table (C2 gives the matching path there), so it is a change of the unknowns that
    keeps every published figure; C3 puts every withheld cell on such a cycle, and C1 with
    C2 puts every withheld total on one. A withheld value that some admissible change moves
    is not determined. A mart without a breakdown (one row of cells) is the same table with
    the row repeated as 'all' (each cell appears twice, the two copies equal), which turns C1
    to C3 into the line rules: a published total needs 0 or at least 2 withheld parts in each
    group type, a withheld total at least 1. A mart without groups uses its breakdown as the
    one group type. The generic test `no_recoverable_suppressed_cells` checks C1 to C3 and the
    small-group rule on the published values (bridges by graph search, not by this macro's
    shortcuts), and tests/python/test_marts.py solves the linear systems independently.

    The rules, applied in rounds to a set of withheld cells that only grows:
    0. Primary: a cell computed from fewer than var('min_cell_size') pupils (default 5), or
       below any other minimum in `minimum_counts` (e.g. organisations per cell).
    1. Lines: a line whose total is published and whose withheld parts add up to fewer than
       a minimum loses its next smallest parts until they do not; the key-stage totals'
       line with exactly one withheld cell loses its smallest other total (C1).
    2. Links (C2): the withheld key-stage totals are ordered (fewest pupils first) and each
       consecutive pair is joined in every table: by a column both rows have (two cells), or
       else through the all-key-stages row (a cell of each row and the all-key-stages cells
       of those columns, a cycle of six). The cheapest join is taken.
    3. Rectangles (C3): a withheld cell on no rectangle of withheld cells (cell (r, c) with
       (r, c'), (r', c) and (r', c')) gets the cheapest rectangle: fewest pupils added,
       preferring key-stage cells to all-key-stages cells, those to key-stage totals, and
       those to the partition total. A cell on a cycle of six through two withheld totals
       and the all-key-stages row (what a join of rule 2 makes) needs no rectangle. Ties
       are broken by key order, so the result is deterministic (group types with the same
       figures, such as FSM and disadvantaged today, are withheld alike).
    After a round every cell that was withheld at its start, and every cell it added, obeys
    C2 and C3, except that a rectangle may withhold a new key-stage total (only when a row
    has a single value, so the cell is that total) and added cells may make a new small
    line: the next round treats those. Rounds are unrolled `max_rounds` times (by default
    var('suppression_rounds'), which is 4;
    set-based SQL, no loops in the warehouse); the withheld set only grows and each round
    that is not a fixed point adds a cell, so every partition settles (on the synthetic
    trusts within two rounds). A partition still unsettled after the last round is withheld
    whole: with every cell unknown each relation is homogeneous (a sum of unknowns equals an
    unknown), so no value is determined and no line total is published. The guarantee holds
    for any max_rounds; more rounds only publish more.
    4. Measures with their own pupils: a measure computed from a subset of a cell's pupils
       (e.g. the average KS2 scaled score, which pupils with a result code such as B do not
       have) runs the same rounds on that subset (`measure_denominators` maps the measure to
       the column counting its pupils), starting from the cells withheld above plus those
       whose subset is smaller than min_cell_size. The measure is nulled on the result, the
       cell stays published: so a withheld average cannot be recovered from the total's and
       its complement's averages.

    What it does not promise: the attacker it defeats solves linear equations. Bounds (a
    count is at least 1 when its row exists) and rates of exactly 0% or 100% on a published
    small-but-allowed cell can still narrow or reveal facts about a group. -#}
{% macro suppress_small_cells(
    cells,
    partition_by,
    measures,
    breakdown=none,
    grouped=true,
    measure_denominators={},
    minimum_counts={},
    max_rounds=none
) %}
    {%- set rounds = var('suppression_rounds') if max_rounds is none else max_rounds -%}
    {%- if rounds | int < 0 -%}
        {{ exceptions.raise_compiler_error(
            'suppression_rounds must be 0 or more, got ' ~ rounds
        ) }}
    {%- endif -%}
    {{- return(adapter.dispatch('suppress_small_cells', 'tinytracker')(
        cells, partition_by, measures, breakdown, grouped, measure_denominators,
        minimum_counts, rounds | int
    )) -}}
{% endmacro %}

{% macro default__suppress_small_cells(
    cells, partition_by, measures, breakdown, grouped, measure_denominators, minimum_counts,
    max_rounds
) %}
    {%- set min_cell_size = var('min_cell_size') | int -%}
    {%- set is_grid = grouped and breakdown -%}
    {%- set group_columns = ['group_type', 'group_value'] if grouped else [] -%}
    {%- set breakdown_columns = [breakdown] if breakdown else [] -%}
    {%- set cell_keys = partition_by + breakdown_columns + group_columns -%}
    {%- set thresholds = {'pupil_count': min_cell_size} -%}
    {%- for column, minimum in minimum_counts.items() -%}
        {%- do thresholds.update({column: minimum | int}) -%}
    {%- endfor -%}
    {%- set denominators = [] -%}
    {%- for measure in measures
        if measure in measure_denominators
        and measure_denominators[measure] not in denominators -%}
        {%- do denominators.append(measure_denominators[measure]) -%}
    {%- endfor -%}
    {%- set count_columns = ['pupil_count'] -%}
    {%- for column in (thresholds.keys() | list) + denominators
        if column not in count_columns -%}
        {%- do count_columns.append(column) -%}
    {%- endfor %}

    with

    sc_source as (

        select
            row_number() over (order by {{ cell_keys | join(', ') }}) as cell_id,
            dense_rank() over (order by {{ partition_by | join(', ') }}) as part_id,
            source_cells.*
        from {{ cells }} as source_cells

    ),

    {#- One row per cell: its table (group type), row (key stage; null when the mart has no
        breakdown and the row is repeated) and column ('*' for the key-stage totals). #}
    sc_cells as (

        select
            cell_id,
            part_id,
            {% if is_grid -%}
                {{ breakdown }} as row_key,
            {%- else -%}
                cast(null as {{ dbt.type_string() }}) as row_key,
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
            {% if is_grid -%}
                case when group_type = 'all' then 2 else 0 end
                + case when {{ breakdown }} = 'all' then 1 else 0 end as tier,
            {%- elif grouped -%}
                case when group_type = 'all' then 3 else 0 end as tier,
            {%- elif breakdown -%}
                case when {{ breakdown }} = 'all' then 3 else 0 end as tier,
            {%- else -%}
                3 as tier,
            {%- endif %}
            {% for column in count_columns -%}
                coalesce({{ column }}, 0) as {{ column }}{% if not loop.last %},{% endif %}
            {% endfor %}
        from sc_source

    ),

    sc_tables as (

        select distinct
            part_id,
            table_key
        from sc_cells
        where column_key <> '*'

    ),

    {#- Graph edges: a cell in its table, a key-stage total in every table of its partition;
        without a breakdown every cell twice, in the repeated rows 'part' and 'all'. #}
    sc_edges as (

        {% if is_grid -%}
            select
                part_id,
                table_key,
                row_key as row_node,
                column_key as column_node,
                cell_id,
                false as is_total_column
            from sc_cells
            where column_key <> '*'

            union all

            select
                totals.part_id,
                tables.table_key,
                totals.row_key as row_node,
                '*' as column_node,
                totals.cell_id,
                true as is_total_column
            from sc_cells as totals
            inner join sc_tables as tables
                on totals.part_id = tables.part_id
            where totals.column_key = '*'
        {%- else -%}
            select
                cells.part_id,
                tables.table_key,
                copies.row_node,
                cells.column_key as column_node,
                cells.cell_id,
                cells.column_key = '*' as is_total_column
            from sc_cells as cells
            inner join sc_tables as tables
                on
                    cells.part_id = tables.part_id
                    and (cells.table_key = tables.table_key or cells.column_key = '*')
            cross join (
                select 'part' as row_node
                union all
                select 'all' as row_node
            ) as copies
        {%- endif %}

    ),

    {#- Lines (parts with a total): each row of a table, each column of a grid, and the
        key-stage totals' line. #}
    sc_line_members as (

        select distinct
            part_id,
            {{ dbt.concat(["'row|'", 'table_key', "'|'", 'row_node']) }} as line_key,
            cell_id,
            is_total_column as is_total,
            false as is_total_line
        from sc_edges
        {% if not is_grid -%}
            where row_node = 'all'
        {%- endif %}

        {% if is_grid -%}
            union all

            select distinct
                part_id,
                {{ dbt.concat(["'column|'", 'table_key', "'|'", 'column_node']) }} as line_key,
                cell_id,
                row_node = 'all' as is_total,
                false as is_total_line
            from sc_edges
            where not is_total_column

            union all

            select
                part_id,
                'column|*' as line_key,
                cell_id,
                row_key = 'all' as is_total,
                true as is_total_line
            from sc_cells
            where column_key = '*'
        {%- endif %}

    ),

    {{ suppression_rounds('sc_p', 'pupil_count', thresholds, none, max_rounds) }}

    {%- for denominator in denominators %}
    {{ suppression_rounds(
        'sc_m' ~ loop.index, denominator, {denominator: min_cell_size}, 'sc_p_final',
        max_rounds
    ) }}
    {%- endfor %}

    sc_result as (

        select
            {% for key in cell_keys -%}
                source_cells.{{ key }},
            {% endfor -%}
            case
                when not pupils.is_suppressed then source_cells.pupil_count
            end as pupil_count,
            {% for measure in measures -%}
                case
                    when pupils.is_suppressed then null
                    {% if measure in measure_denominators -%}
                        {%- set index = denominators.index(measure_denominators[measure]) + 1 %}
                        when sc_m{{ index }}.is_suppressed then null
                    {%- endif %}
                    else source_cells.{{ measure }}
                end as {{ measure }},
            {% endfor -%}
            pupils.is_suppressed
        from sc_source as source_cells
        inner join sc_p_final as pupils
            on source_cells.cell_id = pupils.cell_id
        {% for denominator in denominators -%}
            inner join sc_m{{ loop.index }}_final as sc_m{{ loop.index }}
                on source_cells.cell_id = sc_m{{ loop.index }}.cell_id
        {% endfor %}

    )

    select * from sc_result
{% endmacro %}

{#- The rounds of suppress_small_cells for one count: CTEs named `prefix`_..., ending with
    `prefix`_final (cell_id, is_suppressed). `count_column` ranks the candidates,
    `thresholds` ({column: minimum}) are the primary and small-line minimums, `prior` names
    an earlier final state whose withheld cells start withheld here. -#}
{% macro suppression_rounds(prefix, count_column, thresholds, prior, max_rounds) %}
    {{ prefix }}_state_0 as (

        select
            cells.cell_id,
            (
                {% for column, minimum in thresholds.items() -%}
                    cells.{{ column }} < {{ minimum }}
                    {%- if not loop.last %} or {% endif %}
                {% endfor -%}
                {%- if prior %} or prior_state.is_suppressed{% endif %}
            ) as is_suppressed
        from sc_cells as cells
        {% if prior -%}
            inner join {{ prior }} as prior_state
                on cells.cell_id = prior_state.cell_id
        {%- endif %}

    ),

    {% for round_number in range(max_rounds) -%}
        {%- set step = prefix ~ '_r' ~ round_number -%}
        {%- set state = prefix ~ '_state_' ~ round_number -%}
        {{ suppression_line_step(step, state, count_column, thresholds) }}
        {{ suppression_link_step(step, step ~ '_lines_done', count_column) }}
        {{ suppression_rectangle_step(
            step, step ~ '_links_done', count_column, prefix ~ '_state_' ~ (round_number + 1)
        ) }}
    {% endfor -%}

    {%- set final_state = prefix ~ '_state_' ~ max_rounds -%}
    {%- set check = prefix ~ '_check' -%}
    {{ suppression_line_step(check, final_state, count_column, thresholds, check_only=true) }}
    {{ suppression_link_step(check, final_state, count_column, check_only=true) }}
    {{ suppression_rectangle_step(check, final_state, count_column, none, check_only=true) }}

    {{ prefix }}_unsettled as (

        select part_id from {{ check }}_line_needs
        union
        select part_id from {{ check }}_unlinked
        union
        select part_id from {{ check }}_uncovered

    ),

    {{ prefix }}_final as (

        select
            cell_state.cell_id,
            cell_state.is_suppressed or unsettled.part_id is not null as is_suppressed
        from {{ final_state }} as cell_state
        inner join sc_cells as cells
            on cell_state.cell_id = cells.cell_id
        left join {{ prefix }}_unsettled as unsettled
            on cells.part_id = unsettled.part_id

    ),
{% endmacro %}

{#- Rule 1: small lines and the single withheld key-stage total. -#}
{% macro suppression_line_step(step, state, count_column, thresholds, check_only=false) %}
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
            {% for column in thresholds -%}
                sum(
                    case
                        when cell_state.is_suppressed and not members.is_total
                            then cells.{{ column }}
                        else 0
                    end
                ) as suppressed_{{ column }}{% if not loop.last %},{% endif %}
            {% endfor %}
        from sc_line_members as members
        inner join {{ state }} as cell_state
            on members.cell_id = cell_state.cell_id
        inner join sc_cells as cells
            on members.cell_id = cells.cell_id
        group by members.part_id, members.line_key

    ),

    {{ step }}_line_needs as (

        select *
        from {{ step }}_lines
        where
            (is_total_line = 1 and suppressed_cells = 1)
            or (
                is_total_suppressed = 0
                and suppressed_parts > 0
                and (
                    {% for column, minimum in thresholds.items() -%}
                        suppressed_{{ column }} < {{ minimum }}
                        {%- if not loop.last %} or {% endif %}
                    {% endfor %}
                )
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
            {% for column in thresholds -%}
                coalesce(sum(cells.{{ column }}) over (
                    partition by members.part_id, members.line_key
                    order by {{ order_in_line }}
                    rows between unbounded preceding and 1 preceding
                ), 0) as earlier_{{ column }},
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

    {{ step }}_line_choice as (

        select distinct candidates.cell_id
        from {{ step }}_line_candidates as candidates
        inner join {{ step }}_line_needs as needs
            on
                candidates.part_id = needs.part_id
                and candidates.line_key = needs.line_key
        where
            (
                needs.is_total_line = 1
                and needs.suppressed_cells = 1
                and candidates.preference = 1
            )
            or (
                needs.is_total_suppressed = 0
                and needs.suppressed_parts > 0
                and (
                    (
                        not candidates.is_total
                        and (
                            {% for column, minimum in thresholds.items() -%}
                                needs.suppressed_{{ column }} + candidates.earlier_{{ column }}
                                < {{ minimum }}
                                {%- if not loop.last %} or {% endif %}
                            {% endfor %}
                        )
                    )
                    or (candidates.is_total and needs.published_parts = 0)
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
