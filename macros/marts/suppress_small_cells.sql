{#- Disclosure control for every mart: the one place the publication rules live. The
    guarantee, the argument for it, the rules and their limits are the docs block
    `suppress_small_cells` (macros/marts/_marts__macros.md); the rules on what one cell (or
    the withheld cells of a line) may say are macro suppression_rule, the steps of each
    round suppression_line_step.sql, suppression_link_step.sql and
    suppression_rectangle_step.sql (with suppression_choose.sql). -#}
{% macro suppress_small_cells(
    cells,
    partition_by,
    measures,
    breakdown=none,
    grouped=true,
    minimum_counts={},
    dominance=[],
    measure_rules=[],
    max_rounds=none
) %}
    {%- set rounds = var('suppression_rounds') if max_rounds is none else max_rounds -%}
    {%- if rounds | int < 0 -%}
        {{ exceptions.raise_compiler_error(
            'suppression_rounds must be 0 or more, got ' ~ rounds
        ) }}
    {%- endif -%}
    {{- return(adapter.dispatch('suppress_small_cells', 'tinytracker')(
        cells, partition_by, measures, breakdown, grouped, minimum_counts, dominance,
        measure_rules, rounds | int
    )) -}}
{% endmacro %}

{% macro default__suppress_small_cells(
    cells, partition_by, measures, breakdown, grouped, minimum_counts, dominance,
    measure_rules, max_rounds
) %}
    {%- set is_grid = grouped and breakdown -%}
    {%- set group_columns = ['group_type', 'group_value'] if grouped else [] -%}
    {%- set breakdown_columns = [breakdown] if breakdown else [] -%}
    {%- set cell_keys = partition_by + breakdown_columns + group_columns -%}
    {#- The cell rule: pupils (and any other minimum), dominance of the cell's own sums. #}
    {%- set cell_minimums = {'pupil_count': var('min_cell_size') | int} -%}
    {%- for column, minimum in minimum_counts.items() -%}
        {%- do cell_minimums.update({column: minimum | int}) -%}
    {%- endfor -%}
    {%- set cell_rule = suppression_rule(minimum_counts=cell_minimums, dominance=dominance) -%}
    {#- One rule per family of measures withheld together on a published cell. #}
    {%- set families = [] -%}
    {%- for spec in measure_rules -%}
        {%- set after = [] -%}
        {%- for measure in spec.get('after', []) -%}
            {%- for earlier in families if measure in earlier['measures'] -%}
                {%- do after.append('sc_m' ~ earlier['index'] ~ '_final') -%}
            {%- else -%}
                {{ exceptions.raise_compiler_error(
                    'measure_rules: ' ~ measure ~ ' in after is not in an earlier rule'
                ) }}
            {%- endfor -%}
        {%- endfor -%}
        {%- do families.append({
            'index': families | length + 1,
            'measures': spec['measures'],
            'rank_by': spec.get('rank_by', 'pupil_count'),
            'after': after,
            'rule': suppression_rule(
                minimum_counts=spec.get('minimum_counts', {}),
                shares=spec.get('shares', []),
                dominance=spec.get('dominance', []),
            ),
        }) -%}
    {%- endfor -%}
    {#- Every column a rule reads, as {name: SQL over the source cell}. #}
    {%- set count_columns = {'pupil_count': 'pupil_count'} -%}
    {%- do count_columns.update(cell_rule['columns']) -%}
    {%- for family in families -%}
        {%- do count_columns.update(family['rule']['columns']) -%}
        {%- do count_columns.update({family['rank_by']: family['rank_by']}) -%}
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
            {% for column, expression in count_columns.items() -%}
                coalesce({{ expression }}, 0) as {{ column }}{% if not loop.last %},{% endif %}
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

    {{ suppression_rounds('sc_p', 'pupil_count', cell_rule, [], max_rounds) }}

    {#- Fewer rounds for the measure rules: each family is a copy of the rounds, and on the
        synthetic trusts they settle within two (a partition left unsettled loses the
        family's measures whole, so fewer rounds only withhold more). #}
    {%- set family_rounds = [max_rounds, var('measure_suppression_rounds') | int] | min %}
    {%- for family in families %}
    {{ suppression_rounds(
        'sc_m' ~ family['index'], family['rank_by'], family['rule'],
        ['sc_p_final'] + family['after'], family_rounds
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
                    {% for family in families if measure in family['measures'] -%}
                        when sc_m{{ family['index'] }}.is_suppressed then null
                    {% endfor -%}
                    else source_cells.{{ measure }}
                end as {{ measure }},
            {% endfor -%}
            pupils.is_suppressed
        from sc_source as source_cells
        inner join sc_p_final as pupils
            on source_cells.cell_id = pupils.cell_id
        {% for family in families -%}
            inner join sc_m{{ family['index'] }}_final as sc_m{{ family['index'] }}
                on source_cells.cell_id = sc_m{{ family['index'] }}.cell_id
        {% endfor %}

    )

    select * from sc_result
{% endmacro %}

{#- The rounds of suppress_small_cells for one rule: CTEs named `prefix`_..., ending with
    `prefix`_final (cell_id, is_suppressed). A cell starts withheld when it breaks `rule`
    itself (its primary suppression) or is withheld in one of the `priors` (earlier final
    states); `count_column` ranks the candidates for secondary suppression (cheapest
    first). -#}
{% macro suppression_rounds(prefix, count_column, rule, priors, max_rounds) %}
    {%- set own = {} -%}
    {%- for column in rule['columns'] -%}
        {%- do own.update({column: 'cells.' ~ column}) -%}
    {%- endfor %}
    {{ prefix }}_state_0 as (

        select
            cells.cell_id,
            (
                {{ suppression_unsafe(rule, own, exact=true) }}
                {%- for prior in priors %}
                    or prior_{{ loop.index }}.is_suppressed
                {%- endfor %}
            ) as is_suppressed
        from sc_cells as cells
        {% for prior in priors -%}
            inner join {{ prior }} as prior_{{ loop.index }}
                on cells.cell_id = prior_{{ loop.index }}.cell_id
        {% endfor %}

    ),

    {% for round_number in range(max_rounds) -%}
        {%- set step = prefix ~ '_r' ~ round_number -%}
        {%- set state = prefix ~ '_state_' ~ round_number -%}
        {{ suppression_line_step(step, state, count_column, rule) }}
        {{ suppression_link_step(step, step ~ '_lines_done', count_column) }}
        {{ suppression_rectangle_step(
            step, step ~ '_links_done', count_column, prefix ~ '_state_' ~ (round_number + 1)
        ) }}
    {% endfor -%}

    {%- set final_state = prefix ~ '_state_' ~ max_rounds -%}
    {%- set check = prefix ~ '_check' -%}
    {{ suppression_line_step(check, final_state, count_column, rule, check_only=true) }}
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
