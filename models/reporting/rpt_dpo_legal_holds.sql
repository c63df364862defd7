{#- Held back: every standing legal hold, who placed it, since when, why, and how many subjects
    it keeps (retention_hold_coverage), past their due_on ones apart. A hold's reason is free
    text that may name a person: it is shown only when no name, id, UPN, email or teacher
    number of anyone of the organisation (3 characters or more) occurs in it as whole words,
    in any letter case; otherwise it is withheld and `tinytracker hold list` shows it to
    whoever may read it. -#}
{%- set subject_kinds = ['pupil', 'pupil_contact', 'employee', 'correspondence', 'setup_import'] -%}
{%- set identifier_columns = [
    ('stg_pupils', ['forename', 'surname', 'upn', 'pupil_id', 'email']),
    ('stg_pupil_contacts', ['forename', 'surname', 'contact_id', 'email']),
    ('stg_employees', ['forename', 'surname', 'employee_id', 'email', 'teacher_number']),
] -%}

with

legal_holds as (

    select * from {{ ref('stg_legal_holds') }}
    where is_active

),

hold_coverage as (

    select * from {{ ref('retention_hold_coverage') }}

),

retention_status as (

    select * from {{ ref('retention_status') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

-- every identifier of every person of the organisations, as padded words
identifiers as (

    {% for model, columns in identifier_columns %}
        {% for column in columns %}
            select
                organisation_id,
                {{ tinytracker.padded_words(column) }} as identifier
            from {{ ref(model) }}
            where {{ dbt.length(column) }} >= 3
            {% if not loop.last %}union all{% endif %}
        {% endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

reasons_naming_someone as (

    select distinct legal_holds.hold_id

    from legal_holds
    inner join identifiers
        on
            legal_holds.organisation_id = identifiers.organisation_id
            and {{ dbt.position(
                'identifiers.identifier', tinytracker.padded_words('legal_holds.reason')
            ) }} > 0

),

covered as (

    select
        hold_id,
        {% for kind in subject_kinds %}
            count(case when subject_kind = '{{ kind }}' then 1 end) as {{ kind }}_count,
        {% endfor %}
        count(*) as covered_subject_count

    from hold_coverage
    group by hold_id

),

held_past_due as (

    select
        hold_coverage.hold_id,
        count(distinct {{ dbt.concat(['hold_coverage.subject_kind', "'/'",
            'hold_coverage.subject_id']) }}) as held_past_due_subject_count,
        min(retention_status.due_on) as oldest_held_past_due_on

    from hold_coverage
    inner join retention_status
        on
            hold_coverage.organisation_id = retention_status.organisation_id
            and hold_coverage.subject_kind = retention_status.subject_kind
            and hold_coverage.subject_id = retention_status.subject_id
    where
        retention_status.status = 'on_hold'
        and retention_status.due_on <= retention_status.as_of
    group by hold_coverage.hold_id

),

final as (

    select
        legal_holds.hold_id,
        legal_holds.organisation_id,
        legal_holds.subject_kind as held_subject_kind,
        legal_holds.placed_by,
        cast(legal_holds.placed_at as date) as placed_on,
        {{ dbt.datediff('cast(legal_holds.placed_at as date)', 'evaluation.as_of', 'day') }}
            as days_standing,
        case
            when reasons_naming_someone.hold_id is null then legal_holds.reason
            else 'withheld: the reason names a person (tinytracker hold list shows it)'
        end as reason_shown,
        reasons_naming_someone.hold_id is not null as is_reason_withheld,
        {% for kind in subject_kinds %}
            coalesce(covered.{{ kind }}_count, 0) as {{ kind }}_count,
        {% endfor %}
        coalesce(covered.covered_subject_count, 0) as covered_subject_count,
        coalesce(held_past_due.held_past_due_subject_count, 0) as held_past_due_subject_count,
        held_past_due.oldest_held_past_due_on,
        evaluation.as_of

    from legal_holds
    cross join evaluation
    left join reasons_naming_someone
        on legal_holds.hold_id = reasons_naming_someone.hold_id
    left join covered
        on legal_holds.hold_id = covered.hold_id
    left join held_past_due
        on legal_holds.hold_id = held_past_due.hold_id

)

select * from final
