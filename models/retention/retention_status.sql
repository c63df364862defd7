with

erasure_suppressions as (

    select * from {{ ref('stg_erasure_suppressions') }}

),

rules as (

    select * from {{ ref('retention_rules') }}

),

-- ids of actions taken on request (erasure of one person), documented beside the rules
request_rules as (

    select * from {{ ref('retention_request_rules') }}

),

backups_period as (

    select
        period_value,
        period_unit

    from {{ ref('retention_general_clauses') }}
    where clause_id = 'backups_kept_90_days'

),

-- subjects still in the warehouse, live ones and those anonymised in place: every rule model
retention_rule_subjects as (

    select * from {{ ref('retention_rule_subjects') }}

),

-- deleted subjects are gone from raw: the suppression list is all that is left of them.
-- An anonymised subject's row there has no surrogate (nothing on the list may lead to its
-- kept rows); it shows through its anonymised rows above. The one surrogate kept, of an
-- author whose name was kept, matches that row and is left out by the join.
deleted_subjects as (

    select
        erasure_suppressions.organisation_id,
        erasure_suppressions.subject_kind,
        erasure_suppressions.surrogate_id as subject_id,
        erasure_suppressions.rule_id,
        cast(null as {{ dbt.type_string() }}) as triggered_by,
        cast(null as date) as trigger_on,
        cast(null as date) as due_on,
        erasure_suppressions.actioned_on,
        false as is_held

    from erasure_suppressions
    left join retention_rule_subjects
        on
            erasure_suppressions.organisation_id = retention_rule_subjects.organisation_id
            and erasure_suppressions.subject_kind = retention_rule_subjects.subject_kind
            and erasure_suppressions.surrogate_id = retention_rule_subjects.subject_id
    where
        erasure_suppressions.surrogate_id is not null
        and retention_rule_subjects.subject_id is null

),

subjects as (

    select * from retention_rule_subjects
    union all
    select * from deleted_subjects

),

-- the action comes from the rule, or the request id, documented for that kind of subject:
-- an id documented for another kind (or not at all) leaves it null, which the not_null test
-- on action reports (the rule_id relationships test names the undocumented id)
evaluated as (

    select
        subjects.*,
        coalesce(rules.action, request_rules.action) as action,  -- noqa: RF04
        coalesce(rules.tie_break_rank, 0) as tie_break_rank,
        {{ tinytracker.as_of() }} as as_of

    from subjects
    left join rules
        on
            subjects.rule_id = rules.rule_id
            and subjects.subject_kind = rules.subject_kind
    left join request_rules
        on
            subjects.rule_id = request_rules.rule_id
            and subjects.subject_kind = request_rules.subject_kind

),

statuses as (

    select
        *,
        -- a standing hold holds every row of the subject, due or not (due_on still shows
        -- when it will fall due); what was already actioned stays actioned
        case
            when actioned_on is not null then 'actioned'
            when is_held then 'on_hold'
            when due_on <= as_of then 'due'
            else 'retained'
        end as status,
        -- where two rules hit one subject the earlier due_on wins (spec; ties: tie_break_rank)
        row_number() over (
            partition by organisation_id, subject_kind, subject_id
            order by
                case when due_on is null then 1 else 0 end,
                due_on,
                tie_break_rank,
                rule_id
        ) = 1 as is_winning_rule

    from evaluated

),

final as (

    select
        statuses.organisation_id,
        statuses.subject_kind,
        statuses.subject_id,
        statuses.rule_id,
        statuses.action,
        statuses.triggered_by,
        statuses.trigger_on,
        statuses.due_on,
        statuses.status,
        statuses.actioned_on,
        case
            when statuses.actioned_on is not null
                then {{ tinytracker.add_period(
                    'statuses.actioned_on', 'backups_period.period_value',
                    'backups_period.period_unit'
                ) }}
            else {{ tinytracker.add_period(
                'statuses.due_on', 'backups_period.period_value', 'backups_period.period_unit'
            ) }}
        end as backups_clear_on,
        statuses.is_held,
        statuses.is_winning_rule,
        statuses.as_of

    from statuses
    cross join backups_period

)

select * from final
