{#- What a published figure may say, as SQL: the rules suppress_small_cells applies to a
    cell and to the withheld cells of a line taken together (docs block
    `suppression_rules` in _marts__macros.md). -#}

{#- A rule as a dict: the cell columns it reads (`columns`: {name: SQL over a cell}), how
    they add up over several withheld cells (`aggregates`: {name: [function, column]}), and
    its parts:
    - `minimum_counts` {column: minimum}: the column must reach the minimum (pupils,
      organisations, scored pupils);
    - `shares` [{count, of, adverse}]: a binary outcome, `count` of the `of` pupils have it;
      both `count` and `of` - `count` are 0 or at least var('min_numerator'), and a group of
      fewer than var('min_class_size') does not show that all of it (`adverse: 'all'`) or
      none of it (`adverse: 'none'`) has the outcome;
    - `dominance` [stem]: a sum over pupils (or organisations) in column `stem`, with its
      largest contribution in `stem`_largest and its two largest together in
      `stem`_two_largest; ACRO's nk rule (the two largest make var('dominance_top_two_share')
      of the total or more) and p-ratio rule (the total less the two largest is under
      var('dominance_p_ratio') of the largest) must both pass. Over several cells the two
      largest contributions are bounded from the cells' largest (their maximum and sum) and
      second largest (their maximum), which is exact for one cell. -#}
{% macro suppression_rule(minimum_counts={}, shares=[], dominance=[]) %}
    {%- set columns = {} -%}
    {%- set aggregates = {} -%}
    {%- for column in minimum_counts -%}
        {%- do columns.update({column: column}) -%}
        {%- do aggregates.update({column: ['sum', column]}) -%}
    {%- endfor -%}
    {%- for share in shares -%}
        {%- for column in [share['count'], share['of']] -%}
            {%- do columns.update({column: column}) -%}
            {%- do aggregates.update({column: ['sum', column]}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for stem in dominance -%}
        {%- do columns.update({
            stem: stem,
            stem ~ '_largest': stem ~ '_largest',
            stem ~ '_two_largest': stem ~ '_two_largest',
            stem ~ '_second': stem ~ '_two_largest - ' ~ stem ~ '_largest',
        }) -%}
        {%- do aggregates.update({
            stem: ['sum', stem],
            stem ~ '_largest': ['max', stem ~ '_largest'],
            stem ~ '_largest_sum': ['sum', stem ~ '_largest'],
            stem ~ '_second': ['max', stem ~ '_second'],
        }) -%}
    {%- endfor -%}
    {{ return({
        'minimum_counts': minimum_counts,
        'shares': shares,
        'dominance': dominance,
        'columns': columns,
        'aggregates': aggregates,
    }) }}
{% endmacro %}

{#- True (SQL) when the figures in `values` ({name: SQL expression}) break `rule`.
    `exact`: the values are one cell's columns; otherwise they are the `aggregates` of
    several withheld cells, and the dominance rules are judged on a bound of their two
    largest contributions together: the largest, plus the larger of the cells' largest
    second contributions and the other cells' largest contributions (at most their sum less
    the largest). The bound can only withhold more, and is exact for one cell. -#}
{% macro suppression_unsafe(rule, values, exact) -%}
    {%- set min_numerator = var('min_numerator') | int -%}
    {%- set min_class_size = var('min_class_size') | int -%}
    {%- set top_two_share = var('dominance_top_two_share') | float -%}
    {%- set p_ratio = var('dominance_p_ratio') | float -%}
    (
        {%- for column, minimum in rule['minimum_counts'].items() %}
            {{ values[column] }} < {{ minimum | int }} or
        {%- endfor %}
        {%- for share in rule['shares'] %}
            {%- set count = values[share['count']] %}
            {%- set total = values[share['of']] %}
            ({{ count }} > 0 and {{ count }} < {{ min_numerator }}) or
            ({{ total }} - {{ count }} > 0 and {{ total }} - {{ count }} < {{ min_numerator }})
            or
            {%- if share.get('adverse') == 'all' %}
                (
                    {{ total }} > 0 and {{ total }} < {{ min_class_size }}
                    and {{ count }} = {{ total }}
                ) or
            {%- elif share.get('adverse') == 'none' %}
                ({{ total }} > 0 and {{ total }} < {{ min_class_size }} and {{ count }} = 0) or
            {%- endif %}
        {%- endfor %}
        {%- for stem in rule['dominance'] %}
            {%- set total = values[stem] %}
            {%- set largest = values[stem ~ '_largest'] %}
            {%- if exact %}
                {%- set two_largest = values[stem ~ '_two_largest'] %}
            {%- else %}
                {%- set others = '(' ~ values[stem ~ '_largest_sum'] ~ ' - ' ~ largest ~ ')' %}
                {%- set two_largest = '(' ~ largest ~ ' + greatest(' ~ values[stem ~ '_second']
                    ~ ', least(' ~ largest ~ ', ' ~ others ~ ')))' %}
            {%- endif %}
            (
                {{ total }} > 0
                and (
                    {{ two_largest }} >= {{ top_two_share }} * {{ total }}
                    or {{ total }} - {{ two_largest }} < {{ p_ratio }} * {{ largest }}
                )
            ) or
        {%- endfor %}
        false
    )
{%- endmacro %}

{#- Sum of the two largest values of `expr` in a group (an aggregate), 0 for no values: the
    top-2 contribution of the dominance rules. -#}
{% macro top_two_sum(expr) %}
    {{- return(adapter.dispatch('top_two_sum', 'tinytracker')(expr)) -}}
{% endmacro %}

{#- Standard SQL has no aggregate for the second largest value; a warehouse without one
    computes it with a window (row_number over the group, descending) before aggregating. -#}
{% macro default__top_two_sum(expr) -%}
    {{ exceptions.raise_compiler_error(
        'top_two_sum has no implementation for ' ~ target.type ~ ': add '
        ~ target.type ~ '__top_two_sum (e.g. Spark: '
        ~ 'aggregate(slice(sort_array(collect_list(x), false), 1, 2), 0d, (a, b) -> a + b))'
    ) }}
{%- endmacro %}

{#- DuckDB's max(x, n) keeps the n largest values as a list. -#}
{% macro duckdb__top_two_sum(expr) -%}
    coalesce(list_sum(max({{ expr }}, 2)), 0)
{%- endmacro %}
