{#- Fails with one row per key value that occurs more than once across the given columns.
    Our own small version (the dbt package hub is out of reach here). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

    {%- set columns_csv = combination_of_columns | join(', ') %}

    select
        {{ columns_csv }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1

{% endtest %}
