{#- The record of processing activities (GDPR Art. 30), one row per activity of the policy.
    Written by hand only where the project said nothing before (ropa_activities: the policy's
    purposes and data subjects; ropa_relations: which source serves which activity); every
    other field is generated: the personal-data columns and their classes from the YAML (dbt
    graph), the retention rules and clauses from the policy seeds, the recipients from the
    lineage (marts: analysts; sharing: academy trusts) and the consent recorded per
    organisation, the transfers from a var, the measures from ropa_measures. -#}
{%- set personal_classes = ['direct_identifier', 'special_category', 'quasi_identifier'] -%}
{%- set no_period = "'no retention period in the policy: kept while the service runs, as "
    ~ "the record that the policy was followed'" -%}

with

activities as (

    select * from {{ ref('ropa_activities') }}

),

relation_activities as (

    select * from {{ ref('ropa_relations') }}

),

graph_columns as (

    select * from {{ ref('rpt_ropa_columns') }}

),

lineage as (

    select * from {{ ref('rpt_ropa_lineage') }}

),

retention_actions as (

    select * from {{ ref('retention_actions') }}

),

rules as (

    select * from {{ ref('retention_rules') }}

),

general_clauses as (

    select * from {{ ref('retention_general_clauses') }}

),

trust_members as (

    select * from {{ ref('trust_share_members') }}

),

measures as (

    select * from {{ ref('rpt_ropa_measures') }}

),

evaluation as (

    select * from {{ ref('rpt_dpo_evaluation') }}

),

-- categories of personal data: the classed columns of the activity's source relations
source_columns as (

    select
        relation_activities.activity_id,
        graph_columns.relation_name,
        graph_columns.personal_data,
        graph_columns.column_name,
        case graph_columns.personal_data
            {% for class in personal_classes %}
                when '{{ class }}' then {{ loop.index }}
            {% endfor %}
        end as class_rank

    from relation_activities
    inner join graph_columns
        on relation_activities.relation_name = graph_columns.relation_name
    where
        graph_columns.resource_type = 'source'
        and graph_columns.is_personal_data

),

columns_by_class as (

    select
        activity_id,
        relation_name,
        personal_data,
        class_rank,
        {{ dbt.listagg('column_name', "', '", 'order by column_name') }} as column_list

    from source_columns
    group by activity_id, relation_name, personal_data, class_rank

),

columns_by_relation as (

    select
        activity_id,
        relation_name,
        {{ dbt.listagg(
            dbt.concat(['personal_data', "': '", 'column_list']), "'; '", 'order by class_rank'
        ) }} as class_list

    from columns_by_class
    group by activity_id, relation_name

),

personal_data_columns as (

    select
        activity_id,
        {{ dbt.listagg(
            dbt.concat(['relation_name', "' ('", 'class_list', "')'"]), "' | '",
            'order by relation_name'
        ) }} as personal_data_columns

    from columns_by_relation
    group by activity_id

),

special_category as (

    select distinct activity_id
    from source_columns
    where personal_data = 'special_category'

),

-- the activity's relations a retention rule acts on for one of its subject kinds: they hold
-- the activity's subjects' data (raw.organisations, say, does not)
subject_relations as (

    select distinct
        relation_activities.activity_id,
        relation_activities.relation_name,
        retention_actions.rule_id

    from relation_activities
    inner join activities
        on relation_activities.activity_id = activities.activity_id
    inner join retention_actions
        on relation_activities.relation_name = retention_actions.table_name
    where
        {{ dbt.position(
            dbt.concat(["' '", 'retention_actions.subject_kind', "' '"]),
            dbt.concat(["' '", "coalesce(activities.subject_kinds, '')", "' '"])
        ) }} > 0

),

-- retention: the policy rules acting on those relations
activity_rules as (

    select distinct
        subject_relations.activity_id,
        rules.rule_id,
        rules.action,
        rules.period_value,
        rules.period_unit,
        rules.policy_clause

    from subject_relations
    inner join rules
        on subject_relations.rule_id = rules.rule_id

),

retention_by_activity as (

    select
        activity_id,
        {{ dbt.listagg(
            dbt.concat([
                'rule_id', "' (' ", 'action', "' after '",
                dbt.cast('period_value', dbt.type_string()), "' '", 'period_unit',
                "'(s)): '", 'policy_clause'
            ]),
            "' | '", 'order by rule_id'
        ) }} as retention_rules

    from activity_rules
    group by activity_id

),

backups as (

    select policy_clause as backups_clause
    from general_clauses
    where clause_id = 'backups_kept_90_days'

),

-- recipients the lineage implies: what the activity's subjects' relations feed, analysts
-- read in the marts and trusts in the sharing relations
downstream_layers as (

    select distinct
        subject_relations.activity_id,
        lineage.layer

    from lineage
    inner join subject_relations
        on lineage.source_relation_name = subject_relations.relation_name
    where lineage.layer in ('marts', 'sharing')

),

trusts as (

    select
        trust_id,
        count(case when is_shared then 1 end) as shared_member_count,
        count(*) as member_count

    from trust_members
    group by trust_id

),

trust_list as (

    select
        {{ dbt.listagg(
            dbt.concat([
                'trust_id', "' ('", dbt.cast('shared_member_count', dbt.type_string()),
                "' of '", dbt.cast('member_count', dbt.type_string()),
                "' members consent)'"
            ]),
            "', '", 'order by trust_id'
        ) }} as trusts

    from trusts

),

recipient_parts as (

    select
        activities.activity_id,
        activities.fixed_recipients,
        case
            when analysts.activity_id is not null
                then
                    '; Tiny Tracker analysts: anonymised aggregates only (marts, small '
                    || 'cells suppressed), in a separate read-only database'
            else ''
        end as analyst_recipients,
        case
            when trust_shares.activity_id is not null
                then
                    '; academy trusts, with each organisation''s recorded consent, '
                    || 'anonymised aggregates only: '
                    || coalesce(trust_list.trusts, 'no organisation belongs to a trust')
            else ''
        end as trust_recipients

    from activities
    cross join trust_list
    left join downstream_layers as analysts
        on
            activities.activity_id = analysts.activity_id
            and analysts.layer = 'marts'
    left join downstream_layers as trust_shares
        on
            activities.activity_id = trust_shares.activity_id
            and trust_shares.layer = 'sharing'

),

recipients as (

    select
        activity_id,
        {{ dbt.concat(['fixed_recipients', 'analyst_recipients', 'trust_recipients']) }}
            as recipients

    from recipient_parts

),

measures_by_activity as (

    select
        activities.activity_id,
        {{ dbt.listagg('measures.measure_id', "', '", 'order by measures.measure_id') }}
            as technical_measures

    from activities
    inner join measures
        on measures.applies_to in ('all', activities.activity_id)
    group by activities.activity_id

),

final as (

    select
        activities.activity_id,
        cast(activities.record_order as {{ dbt.type_int() }}) as record_order,
        activities.activity,
        activities.controller,
        '{{ var("ropa:processor", "Tiny Tracker (processor)") }}' as processor,
        activities.data_subjects,
        activities.data_categories,
        coalesce(personal_data_columns.personal_data_columns, '') as personal_data_columns,
        special_category.activity_id is not null as has_special_category_data,
        activities.purposes,
        activities.lawful_basis,
        recipients.recipients,
        {%- set transfers = var('ropa:transfers', none) %}
        {% if transfers and transfers | string | lower not in ('none', 'null') -%}
            '{{ transfers | replace("'", "''") }}'
        {%- else -%}
            'None outside the UK (dbt var ropa:transfers records any)'
        {%- endif %} as transfers,
        {{ dbt.concat([
            'coalesce(retention_by_activity.retention_rules, ' ~ no_period ~ ')',
            "' | backups: '",
            'backups.backups_clause',
        ]) }} as retention,
        measures_by_activity.technical_measures,
        activities.policy_section,
        evaluation.as_of as recorded_on

    from activities
    cross join backups
    cross join evaluation
    left join personal_data_columns
        on activities.activity_id = personal_data_columns.activity_id
    left join special_category
        on activities.activity_id = special_category.activity_id
    left join retention_by_activity
        on activities.activity_id = retention_by_activity.activity_id
    left join recipients
        on activities.activity_id = recipients.activity_id
    left join measures_by_activity
        on activities.activity_id = measures_by_activity.activity_id

)

select * from final
