-- every rule id a status or report row may carry, with where it is documented: the calendar
-- rules of the policy and the ids of actions taken on request (erasure of one person)
with

rules as (

    select * from {{ ref('retention_rules') }}

),

request_rules as (

    select * from {{ ref('retention_request_rules') }}

),

final as (

    select
        rule_id,
        subject_kind,
        action,
        'retention_rules' as defined_in,
        policy_clause

    from rules

    union all

    select
        rule_id,
        subject_kind,
        action,
        'retention_request_rules' as defined_in,
        policy_clause

    from request_rules

)

select * from final
