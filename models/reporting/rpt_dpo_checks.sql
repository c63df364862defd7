{#- Checks: the latest result of every data test the project has today, with what it guards.
    Results come from reporting.dbt_test_results, which dbt's own hooks fill on every build
    (macros/reporting/test_results.sql); a test removed from the project drops out. -#}
{%- set test_ids = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and node.package_name == project_name -%}
        {%- do test_ids.append(node.unique_id) -%}
    {%- endfor -%}
{%- endif -%}

with

test_results as (

    select * from {{ source('dbt_results', 'dbt_test_results') }}

),

current_tests as (

    select * from test_results
    {% if test_ids %}
        where test_unique_id in (
            {%- for test_id in test_ids | sort %}
                '{{ test_id }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by test_unique_id
            order by executed_at desc, invocation_id desc
        ) as recency_rank,
        max(executed_at) over () as latest_executed_at

    from current_tests

),

final as (

    select
        test_unique_id,
        test_name,
        test_kind,
        guarded_layer,
        guarded_relation,
        guarded_column,
        what_it_guards,
        severity,
        status,
        status = 'pass' as is_passed,
        -- dbt's own shape tests; the page lists the others one by one
        test_kind in (
            'not_null', 'unique', 'accepted_values', 'relationships',
            'unique_combination_of_columns'
        ) as is_structural_test,
        failures,
        message,
        executed_at,
        executed_at = latest_executed_at as is_from_latest_run,
        invocation_id

    from ranked
    where recency_rank = 1

)

select * from final
