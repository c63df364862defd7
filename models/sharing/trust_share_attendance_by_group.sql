with

members as (

    select * from {{ ref('trust_share_members') }}
    where is_shared

),

mart as (

    select * from {{ ref('fct_attendance_by_group') }}

),

-- only consenting members' cells, with the trust and the organisation's name first; columns
-- are listed so that a column added to the mart is shared only after someone adds it here
final as (

    select
        members.trust_id,
        members.organisation_name,
        mart.organisation_id,
        mart.academic_year,
        mart.term,
        mart.key_stage,
        mart.group_type,
        mart.group_value,
        mart.pupil_count,
        mart.attendance_rate,
        mart.authorised_absence_rate,
        mart.unauthorised_absence_rate,
        mart.overall_absence_rate,
        mart.persistent_absence_rate,
        mart.severe_absence_rate,
        mart.is_suppressed
    from mart
    inner join members
        on mart.organisation_id = members.organisation_id

)

select * from final
