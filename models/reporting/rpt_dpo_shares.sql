{#- Sharing: every export of a trust's marts in the last twenty-four months, one row per member
    organisation, included or left out and why. The reason is judged as `tinytracker share`
    judged it (sharing.trust_share_members): a contract ended on the share's members_as_of,
    else no consent recorded. audit.shares has no staging model: it is read here only,
    without who exported it. -#}
with

shares as (

    select * from {{ source('audit', 'shares') }}

),

organisations as (

    select * from {{ ref('stg_organisations') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

recent_shares as (

    select
        shares.share_id,
        shares.trust_id,
        shares.organisation_ids,
        shares.excluded_organisation_ids,
        shares.rows_exported,
        shares.members_as_of,
        cast(shares.exported_at as date) as exported_on,
        evaluation.as_of

    from shares
    inner join evaluation
        on
            cast(shares.exported_at as date) between evaluation.history_starts_on
            and evaluation.as_of

),

members as (

    select
        share_id,
        {{ tinytracker.unnest_list('organisation_ids') }} as organisation_id,
        true as is_included

    from recent_shares

    union all

    select
        share_id,
        {{ tinytracker.unnest_list('excluded_organisation_ids') }} as organisation_id,
        false as is_included

    from recent_shares

),

final as (

    select
        recent_shares.share_id,
        recent_shares.trust_id,
        recent_shares.exported_on,
        recent_shares.members_as_of,
        recent_shares.rows_exported,
        members.organisation_id,
        members.is_included,
        case
            when members.is_included then null
            when organisations.contract_end <= recent_shares.members_as_of
                then 'contract_ended'
            else 'no_consent'
        end as left_out_because,
        recent_shares.as_of

    from recent_shares
    inner join members
        on recent_shares.share_id = members.share_id
    left join organisations
        on members.organisation_id = organisations.organisation_id

)

select * from final
