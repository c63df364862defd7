{#- The rounds of suppress_small_cells (see its docs block `suppress_small_cells` in
    _marts__macros.md) apply three rules, one macro file each: rule 1 (lines, here), rule 2
    (links, suppression_link_step.sql) and rule 3 (rectangles, suppression_rectangle_step.sql);
    rules 2 and 3 share the cheapest-candidate choice (suppression_choose.sql). Each emits CTEs
    named after `step`; `state` is the CTE (cell_id, is_suppressed) the step starts from. -#}

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
