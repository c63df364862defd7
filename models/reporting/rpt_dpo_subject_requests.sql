{#- Requests: every subject access and erasure request of the last twenty-four months (and any
    still open), with its one-month deadline (GDPR Art. 12(3)) and whether it was late.
    audit.subject_requests has no staging model: it is read here only, without its reason
    and handler. -#}
with

subject_requests as (

    select * from {{ source('audit', 'subject_requests') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

judged as (

    select
        subject_requests.request_id,
        subject_requests.request_kind,
        subject_requests.subject_kind,
        subject_requests.organisation_id,
        subject_requests.received_on,
        subject_requests.due_on,
        -- answered by as_of: a report for an earlier day shows the request as it stood then
        case
            when subject_requests.completed_on <= evaluation.as_of
                then subject_requests.completed_on
        end as completed_on,
        subject_requests.status,
        coalesce(subject_requests.completed_on <= evaluation.as_of, false) as is_answered,
        -- answered after its deadline, or still open after it
        case
            when subject_requests.completed_on <= evaluation.as_of
                then subject_requests.completed_on
            else evaluation.as_of
        end > subject_requests.due_on as is_late,
        evaluation.as_of,
        evaluation.history_starts_on

    from subject_requests
    cross join evaluation
    where subject_requests.received_on <= evaluation.as_of

),

final as (

    select
        request_id,
        request_kind,
        subject_kind,
        organisation_id,
        received_on,
        cast({{ dbt.date_trunc('month', 'received_on') }} as date) as month_starts_on,
        due_on,
        completed_on,
        status,
        is_answered,
        is_late,
        case
            when is_late
                then {{ dbt.datediff('due_on', 'coalesce(completed_on, as_of)', 'day') }}
            else 0
        end as days_late,
        as_of

    from judged
    where received_on >= history_starts_on or not is_answered

)

select * from final
