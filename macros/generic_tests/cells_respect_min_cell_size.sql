{#- Fails with every row of `model` that breaks the publication rule for one cell: a published
    cell (is_suppressed false) must carry its pupil_count and come from at least
    var('min_cell_size') pupils; a suppressed cell must show no pupil_count and no value in any
    of `measures` (rendered `c`). -#}
{% test cells_respect_min_cell_size(model, measures) %}

    select *
    from {{ model }}
    where
        is_suppressed is null
        or (
            not is_suppressed
            and (pupil_count is null or pupil_count < {{ var('min_cell_size') | int }})
        )
        or (
            is_suppressed
            and (
                pupil_count is not null
                {%- for measure in measures %}
                or {{ measure }} is not null
                {%- endfor %}
            )
        )

{% endtest %}
