{#- Disclosure control for every mart: the one place the suppression rule lives.

    Input: a relation (usually a CTE name) of unsuppressed aggregate cells. Each cell has the
    columns in `partition_by`, optionally a `breakdown` column whose value 'all' is the total
    of its other values (e.g. key_stage), optionally (`grouped`) the columns group_type and
    group_value where the row ('all', 'all') holds all pupils, an integer `pupil_count` and the
    `measures`. Output: the same cells with `is_suppressed`; a suppressed cell has pupil_count
    and every measure null (rendered as `c`, as DfE publications do).

    Why two steps: hiding a small cell is not enough when its partition also publishes a total.
    FSM pupils = all pupils - non-FSM pupils, so a suppressed FSM cell next to a published
    non-FSM cell and a published total is recovered by subtraction.

    1. Primary suppression: every cell computed from fewer than var('min_cell_size') pupils
       (default 5).
    2. Secondary suppression. The published figures obey linear "lines", each a set of parts
       that add up to a total:
       - group lines: for one partition (and breakdown value) and one group_type, the cells of
         its group_values (they never overlap and cover every pupil) add up to the
         ('all', 'all') cell;
       - breakdown lines: for one partition and one (group_type, group_value), the cells of the
         breakdown values add up to the breakdown = 'all' cell.
       A cell belongs to one line of each kind, and a total belongs to every line it closes.
       A line is exposed when
       a. exactly one of its cells (part or total) is suppressed: that value is its total minus
          (or the sum of) the others; or
       b. its total is published and the suppressed parts add up to fewer than min_cell_size
          pupils: their combined group is then a small cell recoverable by subtraction.
       In every exposed line the smallest still-published part (fewest pupils; ties broken by
       the cell's position in key order, so the result is deterministic) is suppressed too; a
       line with no published part left loses its total instead. Exposed lines are fixed
       together, one round at a time; a newly suppressed cell can expose a crossing line, so
       rounds repeat (unrolled `max_rounds` times, set-based SQL, no loops in the warehouse)
       until no line is exposed. The generic test `no_recoverable_suppressed_cells` checks
       every mart from an attacker's point of view (published values only), so a partition
       that needed more rounds fails the build instead of being published.
       Known limit: the rule makes no single line solvable; it does not solve the whole linear
       system of a two-way table as tau-ARGUS does. Suppressed cells in a two-way table form
       cycles, so exact recovery through a chain of lines needs a pattern the breakdown and
       group lines of these marts rarely make.
    3. Measure-level suppression: a measure computed from a subset of the cell's pupils (e.g.
       the average KS2 scaled score, which pupils with a result code such as B do not have)
       is also nulled when that subset is smaller than min_cell_size: `measure_denominators`
       maps such a measure to the column counting its pupils. The cell stays published.

    Cells with no pupils are not rows at all (nothing is computed from nobody). -#}
{% macro suppress_small_cells(
    cells,
    partition_by,
    measures,
    breakdown=none,
    grouped=true,
    measure_denominators={},
    max_rounds=10
) %}
    {{- return(adapter.dispatch('suppress_small_cells', 'tinytracker')(
        cells, partition_by, measures, breakdown, grouped, measure_denominators, max_rounds
    )) -}}
{% endmacro %}

{% macro default__suppress_small_cells(
    cells, partition_by, measures, breakdown, grouped, measure_denominators, max_rounds
) %}
    {%- set min_cell_size = var('min_cell_size') | int -%}
    {%- set group_columns = ['group_type', 'group_value'] if grouped else [] -%}
    {%- set breakdown_columns = [breakdown] if breakdown else [] -%}
    {%- set cell_keys = partition_by + breakdown_columns + group_columns -%}
    {%- set group_line_keys = partition_by + breakdown_columns + ['group_type'] -%}
    {%- set breakdown_line_keys = partition_by + group_columns -%}

    with

    suppression_cells as (

        select
            row_number() over (order by {{ cell_keys | join(', ') }}) as cell_id,
            source_cells.*
        from {{ cells }} as source_cells

    ),

    {% if grouped %}
    suppression_group_lines as (

        select
            {{ group_line_keys | join(',\n            ') }},
            row_number() over (order by {{ group_line_keys | join(', ') }}) as line_number
        from suppression_cells
        where group_type <> 'all'
        group by {{ group_line_keys | join(', ') }}

    ),

    suppression_group_members as (

        select
            'group' as line_kind,
            group_lines.line_number,
            cells.cell_id,
            cells.group_type = 'all' as is_total
        from suppression_group_lines as group_lines
        inner join suppression_cells as cells
            on
                {% for key in partition_by + breakdown_columns -%}
                cells.{{ key }} = group_lines.{{ key }}
                and {% endfor -%}
                cells.group_type in (group_lines.group_type, 'all')

    ),
    {% endif %}

    {% if breakdown %}
    suppression_breakdown_lines as (

        select
            {{ breakdown_line_keys | join(',\n            ') }},
            row_number() over (order by {{ breakdown_line_keys | join(', ') }}) as line_number
        from suppression_cells
        group by {{ breakdown_line_keys | join(', ') }}

    ),

    suppression_breakdown_members as (

        select
            'breakdown' as line_kind,
            breakdown_lines.line_number,
            cells.cell_id,
            cells.{{ breakdown }} = 'all' as is_total
        from suppression_breakdown_lines as breakdown_lines
        inner join suppression_cells as cells
            on
                {% for key in breakdown_line_keys -%}
                cells.{{ key }} = breakdown_lines.{{ key }}
                {% if not loop.last %}and {% endif %}
                {%- endfor %}

    ),
    {% endif %}

    suppression_line_members as (

        {% set member_ctes = [] -%}
        {%- if grouped %}{% do member_ctes.append('suppression_group_members') %}{% endif -%}
        {%- if breakdown %}{% do member_ctes.append('suppression_breakdown_members') %}{% endif -%}
        {%- if member_ctes | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as line_kind,
            cast(null as {{ dbt.type_int() }}) as line_number,
            cast(null as {{ dbt.type_int() }}) as cell_id,
            false as is_total
        where 1 = 0
        {%- else -%}
        {%- for member_cte in member_ctes %}
        select line_kind, line_number, cell_id, is_total from {{ member_cte }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {%- endif %}

    ),

    suppression_state_0 as (

        select
            cell_id,
            pupil_count,
            pupil_count < {{ min_cell_size }} as is_suppressed
        from suppression_cells

    ),

    {% for round_number in range(max_rounds) %}
    {%- set state = 'suppression_state_' ~ round_number -%}
    suppression_lines_{{ round_number }} as (

        select
            members.line_kind,
            members.line_number,
            sum(case when cell_state.is_suppressed then 1 else 0 end) as suppressed_cells,
            max(
                case when cell_state.is_suppressed and members.is_total then 1 else 0 end
            ) as is_total_suppressed,
            sum(
                case when cell_state.is_suppressed and not members.is_total then 1 else 0 end
            ) as suppressed_parts,
            sum(
                case
                    when cell_state.is_suppressed and not members.is_total
                        then cell_state.pupil_count
                    else 0
                end
            ) as suppressed_part_pupils
        from suppression_line_members as members
        inner join {{ state }} as cell_state
            on members.cell_id = cell_state.cell_id
        group by members.line_kind, members.line_number

    ),

    suppression_exposed_lines_{{ round_number }} as (

        select
            line_kind,
            line_number
        from suppression_lines_{{ round_number }}
        where
            suppressed_cells = 1
            or (
                is_total_suppressed = 0
                and suppressed_parts > 1
                and suppressed_part_pupils < {{ min_cell_size }}
            )

    ),

    suppression_candidates_{{ round_number }} as (

        select
            members.cell_id,
            row_number() over (
                partition by members.line_kind, members.line_number
                order by
                    case when members.is_total then 1 else 0 end,
                    cell_state.pupil_count,
                    members.cell_id
            ) as preference
        from suppression_line_members as members
        inner join suppression_exposed_lines_{{ round_number }} as exposed
            on
                members.line_kind = exposed.line_kind
                and members.line_number = exposed.line_number
        inner join {{ state }} as cell_state
            on members.cell_id = cell_state.cell_id
        where not cell_state.is_suppressed

    ),

    suppression_chosen_{{ round_number }} as (

        select distinct cell_id
        from suppression_candidates_{{ round_number }}
        where preference = 1

    ),

    suppression_state_{{ round_number + 1 }} as (

        select
            cell_state.cell_id,
            cell_state.pupil_count,
            cell_state.is_suppressed or chosen.cell_id is not null as is_suppressed
        from {{ state }} as cell_state
        left join suppression_chosen_{{ round_number }} as chosen
            on cell_state.cell_id = chosen.cell_id

    ),

    {% endfor %}
    suppressed as (

        select
            {% for key in cell_keys -%}
            cells.{{ key }},
            {% endfor -%}
            case
                when not final_state.is_suppressed then cells.pupil_count
            end as pupil_count,
            {% for measure in measures -%}
            case
                when final_state.is_suppressed then null
                {% if measure in measure_denominators -%}
                when cells.{{ measure_denominators[measure] }} < {{ min_cell_size }} then null
                {% endif -%}
                else cells.{{ measure }}
            end as {{ measure }},
            {% endfor -%}
            final_state.is_suppressed
        from suppression_cells as cells
        inner join suppression_state_{{ max_rounds }} as final_state
            on cells.cell_id = final_state.cell_id

    )

    select * from suppressed
{% endmacro %}
