{#- Fails with every row of `model` that breaks a publication rule for one cell, judged on
    the published values alone:
    - a published cell (is_suppressed false) carries its pupil_count and comes from at least
      var('min_cell_size') pupils; a suppressed cell shows no pupil_count and no value in any
      of `measures` (rendered `c`);
    - `shares` [{rate, adverse}]: a published rate of a binary outcome over the cell's pupils.
      The pupils with the outcome are rate x pupil_count / 100 (exact to the rate's one
      decimal place below 1,000 pupils); they and the pupils without it are each 0 or at
      least var('min_numerator'), and a cell of fewer than var('min_class_size') pupils does
      not show that all of them (`adverse: all`, a rate of 100) or none of them
      (`adverse: none`, a rate of 0) have the outcome;
    - `averages`: an average over all the cell's pupils is published only from at least
      var('min_average_size') pupils. -#}
{% test cells_respect_min_cell_size(model, measures, shares=[], averages=[]) %}

    {%- set min_numerator = var('min_numerator') | int -%}
    {%- set min_class_size = var('min_class_size') | int -%}

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
        {%- for share in shares %}
            {%- set with_outcome = 'round(' ~ share['rate'] ~ ' * pupil_count / 100.0)' %}
            {%- set without_outcome = '(pupil_count - ' ~ with_outcome ~ ')' %}
            or (
                {{ share['rate'] }} is not null
                and (
                    ({{ with_outcome }} > 0 and {{ with_outcome }} < {{ min_numerator }})
                    or (
                        {{ without_outcome }} > 0
                        and {{ without_outcome }} < {{ min_numerator }}
                    )
                    {%- if share.get('adverse') == 'all' %}
                        or (pupil_count < {{ min_class_size }} and {{ share['rate'] }} = 100)
                    {%- elif share.get('adverse') == 'none' %}
                        or (pupil_count < {{ min_class_size }} and {{ share['rate'] }} = 0)
                    {%- endif %}
                )
            )
        {%- endfor %}
        {%- for average in averages %}
            or (
                {{ average }} is not null
                and pupil_count < {{ var('min_average_size') | int }}
            )
        {%- endfor %}

{% endtest %}
