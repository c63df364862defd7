{#- Fails with one row per line of `model` from which a suppressed cell can be recovered,
    judged from the published values alone (what an analyst of the mart sees).

    A line is a set of cells that add up to a total (macro suppress_small_cells explains the
    group and breakdown lines). A line gives a suppressed value away when
    - its total is published and exactly one of its parts is suppressed (total minus the
      published parts), or
    - its total is published and its suppressed parts add up to fewer than min_cell_size
      pupils (the combined small group), or
    - its total is suppressed while all of its parts are published (their sum).
    The macro's rounds should leave no such line; this test catches a partition that would
    have needed more rounds, or a mart that forgot to suppress. -#}
{% test no_recoverable_suppressed_cells(model, partition_by, breakdown=none, grouped=true) %}

    {%- set min_cell_size = var('min_cell_size') | int -%}
    {%- set group_columns = ['group_type', 'group_value'] if grouped else [] -%}
    {%- set breakdown_columns = [breakdown] if breakdown else [] -%}
    {%- set line_kinds = [] -%}
    {%- if grouped -%}
        {%- do line_kinds.append((
            'group', partition_by + breakdown_columns + ['group_type'], "group_type = 'all'"
        )) -%}
    {%- endif -%}
    {%- if breakdown -%}
        {%- do line_kinds.append((
            'breakdown', partition_by + group_columns, breakdown ~ " = 'all'"
        )) -%}
    {%- endif -%}

    with

    published as (

        select * from {{ model }}

    ),

    {% for line_kind, line_keys, is_total in line_kinds %}
    {%- set parent_keys = line_keys if line_kind == 'breakdown' else line_keys[:-1] -%}
    {{ line_kind }}_totals as (

        select
            {{ parent_keys | join(', ') }},
            pupil_count as total_pupils,
            is_suppressed as is_total_suppressed
        from published
        where {{ is_total }}

    ),

    {{ line_kind }}_parts as (

        select
            {{ line_keys | join(', ') }},
            sum(case when is_suppressed then 1 else 0 end) as suppressed_parts,
            count(*) as parts,
            sum(case when is_suppressed then 0 else pupil_count end) as published_part_pupils
        from published
        where not ({{ is_total }})
        group by {{ line_keys | join(', ') }}

    ),

    {{ line_kind }}_exposed as (

        select
            '{{ line_kind }}' as line_kind,
            {%- set key_texts = [] -%}
            {%- for key in line_keys -%}
                {%- if not loop.first %}{% do key_texts.append("' / '") %}{% endif -%}
                {%- do key_texts.append(dbt.cast('parts.' ~ key, dbt.type_string())) -%}
            {%- endfor %}
            {{ dbt.concat(key_texts) }} as line,
            parts.suppressed_parts,
            totals.is_total_suppressed,
            totals.total_pupils - parts.published_part_pupils as recoverable_pupils
        from {{ line_kind }}_parts as parts
        inner join {{ line_kind }}_totals as totals
            on
                {% for key in parent_keys -%}
                parts.{{ key }} = totals.{{ key }}
                {% if not loop.last %}and {% endif %}
                {%- endfor %}
        where
            (not totals.is_total_suppressed and parts.suppressed_parts = 1)
            or (
                not totals.is_total_suppressed
                and parts.suppressed_parts > 1
                and totals.total_pupils - parts.published_part_pupils < {{ min_cell_size }}
            )
            or (totals.is_total_suppressed and parts.suppressed_parts = 0)

    ),
    {% endfor %}

    exposed as (

        {% for line_kind, line_keys, is_total in line_kinds %}
        select
            line_kind,
            line,
            suppressed_parts,
            is_total_suppressed,
            recoverable_pupils
        from {{ line_kind }}_exposed
        {% if not loop.last %}union all{% endif %}
        {% endfor %}

    )

    select * from exposed

{% endtest %}
