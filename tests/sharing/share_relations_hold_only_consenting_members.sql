-- What: every row of every share relation (models/sharing/trust_share_*, members list aside)
-- belongs to an organisation whose share_with_trust consent is recorded as true in
-- raw.organisations, and to the trust that organisation belongs to.
-- When it matters: always. A row here would leave for a third party without the consent the
-- policy requires ("we do not share any pupil or employee data ... without express consent").
-- How to resolve: make the failing share model keep only trust_share_members rows with
-- is_shared, then rebuild. (`tinytracker share --trust` re-checks each export the same way and
-- writes nothing when a row fails.)
-- depends_on: {{ ref('trust_share_members') }}
-- depends_on: {{ ref('trust_share_attendance_by_group') }}
-- depends_on: {{ ref('trust_share_attainment_by_group') }}
-- depends_on: {{ ref('trust_share_progress_by_group') }}
{%- set shares = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.fqn | length > 2 and node.fqn[1] == 'sharing'
        and node.name != 'trust_share_members' -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation is not none -%}
            {%- do shares.append((node.name, relation)) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

with

organisations as (

    select * from {{ source('raw', 'organisations') }}

),

{% if shares | length == 0 -%}
    shared_rows as (

        select
            cast(null as {{ dbt.type_string() }}) as share_relation,
            cast(null as {{ dbt.type_string() }}) as trust_id,
            cast(null as {{ dbt.type_string() }}) as organisation_id
        from organisations
        where 1 = 0

    ),
{%- else -%}
    shared_rows as (

        {%- for name, relation in shares %}
            select distinct
                '{{ name }}' as share_relation,
                shared.trust_id,
                shared.organisation_id
            from {{ relation }} as shared
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}

    ),
{%- endif %}

findings as (

    select
        shared_rows.share_relation,
        shared_rows.trust_id,
        shared_rows.organisation_id,
        organisations.share_with_trust,
        organisations.trust_id as organisation_trust_id
    from shared_rows
    left join organisations
        on shared_rows.organisation_id = organisations.organisation_id
    where
        organisations.organisation_id is null
        or organisations.share_with_trust is not true
        or organisations.trust_id is distinct from shared_rows.trust_id

)

select * from findings
