{#- The organisations the report speaks of: contract, trust and consent, MIS permission and when
    it was last revoked or granted (audit.organisation_changes, read here only, without who
    changed it). -#}
with

organisations as (

    select * from {{ ref('stg_organisations') }}

),

organisation_changes as (

    select * from {{ source('audit', 'organisation_changes') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

permission_changes as (

    select
        organisation_id,
        max(case when change = 'revoke_permission' then changed_at end) as last_revoked_at,
        max(case when change = 'grant_permission' then changed_at end) as last_granted_at,
        count(*) as permission_change_count

    from organisation_changes
    where change in ('revoke_permission', 'grant_permission')
    group by organisation_id

),

final as (

    select
        organisations.organisation_id,
        organisations.organisation_name,
        organisations.organisation_type,
        organisations.trust_id,
        organisations.contract_start,
        organisations.contract_end,
        coalesce(organisations.contract_end <= evaluation.as_of, false) as is_contract_ended,
        organisations.anonymise_requested_on,
        organisations.has_trust_sharing_consent,
        organisations.mis_permission,
        not organisations.has_mis_permission as is_permission_revoked,
        permission_changes.last_revoked_at,
        permission_changes.last_granted_at,
        coalesce(permission_changes.permission_change_count, 0) as permission_change_count,
        evaluation.as_of

    from organisations
    cross join evaluation
    left join permission_changes
        on organisations.organisation_id = permission_changes.organisation_id

)

select * from final
