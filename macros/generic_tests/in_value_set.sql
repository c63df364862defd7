{#- Fails with each value of `column_name` that is not a code of `value_set` in the
    reference.value_sets seed: the same code lists the loader validates against. -#}
{% test in_value_set(model, column_name, value_set) %}

    with

    allowed as (

        select code from {{ ref('value_sets') }}
        where value_set = '{{ value_set }}'

    ),

    checked as (

        select {{ column_name }} as value
        from {{ model }}
        where {{ column_name }} is not null

    )

    select distinct checked.value
    from checked
    left join allowed on checked.value = allowed.code
    where allowed.code is null

{% endtest %}
