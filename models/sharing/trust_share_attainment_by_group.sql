with

members as (

    select * from {{ ref('trust_share_members') }}
    where is_shared

),

mart as (

    select * from {{ ref('fct_attainment_by_group') }}

),

-- only consenting members' cells, with the trust and the organisation's name first; columns
-- are listed so that a column added to the mart is shared only after someone adds it here
final as (

    select
        members.trust_id,
        members.organisation_name,
        mart.organisation_id,
        mart.academic_year,
        mart.key_stage,
        mart.measure,
        mart.group_type,
        mart.group_value,
        mart.pupil_count,
        mart.expected_standard_rate,
        mart.high_standard_rate,
        mart.average_score,
        mart.is_suppressed
    from mart
    inner join members
        on mart.organisation_id = members.organisation_id

)

select * from final
