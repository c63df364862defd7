{#- Fails with every row of the model where `expression` is not true (null counts as not
    true). Named for the retention models so it cannot clash with a project-wide
    expression test added later. -#}
{% test retention_expression_holds(model, expression, column_name=none) %}

    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)

{% endtest %}
