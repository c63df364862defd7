{#- Which member organisations of each academy trust may be shared with it, and why not.
    The policy shares no pupil or employee data "without express consent from the organisation
    first, an example of this could be sharing a organisation's data with the academy chain that
    the organisation belongs to": consent is raw.organisations.share_with_trust. -#}
with

organisations as (

    select * from {{ ref('stg_organisations') }}

),

members as (

    select
        trust_id,
        organisation_id,
        organisation_name,
        has_trust_sharing_consent,
        mis_permission,
        contract_end,
        coalesce(contract_end <= {{ tinytracker.as_of() }}, false) as is_contract_ended,
        {{ tinytracker.as_of() }} as as_of
    from organisations
    where trust_id is not null

),

-- no consent first: it is the reason the organisation can act on
final as (

    select
        trust_id,
        organisation_id,
        organisation_name,
        has_trust_sharing_consent,
        mis_permission,
        contract_end,
        is_contract_ended,
        has_trust_sharing_consent and not is_contract_ended as is_shared,
        case
            when not has_trust_sharing_consent then 'no_consent'
            when is_contract_ended then 'contract_ended'
        end as exclusion_reason,
        as_of
    from members

)

select * from final
