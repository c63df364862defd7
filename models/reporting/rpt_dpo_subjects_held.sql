{#- Held now: how many subjects of each kind the warehouse holds per organisation, with their
    identity (not yet actioned) or anonymised, and how many were deleted. Counts only. -#}
with

retention_status as (

    select * from {{ ref('retention_status') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

-- one row per subject: a subject under two rules has two status rows
subjects as (

    select
        organisation_id,
        subject_kind,
        subject_id,
        max(case when actioned_on is not null then 1 else 0 end) = 1 as is_actioned,
        max(case when actioned_on is not null and action = 'delete' then 1 else 0 end) = 1
            as is_deleted,
        max(case when status = 'on_hold' then 1 else 0 end) = 1 as is_on_hold

    from retention_status
    group by organisation_id, subject_kind, subject_id

),

final as (

    select
        subjects.organisation_id,
        subjects.subject_kind,
        count(case when not subjects.is_actioned then 1 end) as identified_subject_count,
        count(case when subjects.is_on_hold then 1 end) as on_hold_subject_count,
        count(case when subjects.is_actioned and not subjects.is_deleted then 1 end)
            as anonymised_subject_count,
        count(case when subjects.is_deleted then 1 end) as deleted_subject_count,
        evaluation.as_of

    from subjects
    cross join evaluation
    group by subjects.organisation_id, subjects.subject_kind, evaluation.as_of

)

select * from final
