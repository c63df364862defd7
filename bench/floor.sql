-- The floor: the whole retention run of docs/retention-schedule.md written by hand in DuckDB
-- SQL, with no dbt and no Dagster. It is what a careful engineer would write against the raw
-- tables if speed were all that mattered, and it is the bar the real pipeline is measured
-- against (bench/run.py; bench/floor.py runs it).
--
-- Same work as `tinytracker retention apply`: the six rules' due subjects for as_of (dates,
-- interpretations, legal holds, "earlier due_on wins" exactly as seeds/policy/retention_rules.csv
-- and the spec say), then in ONE transaction every delete / anonymise of
-- seeds/policy/retention_actions.csv (same tables, same columns cleared, one random surrogate
-- per subject used in every table, suppression tokens in audit.erasure_suppressions, held
-- subjects' holds pointed at the surrogate), then the physical erasure: COPY FROM DATABASE into
-- a fresh file that bench/floor.py swaps in and zero-fills the old one.
--
-- What it does not do, because the floor has no derived tables: refresh models or marts.
--
-- Inputs (set by bench/floor.py before this runs): the warehouse attached as `wh` and in use,
-- variables as_of (date), tt_secret (the suppression key) and run_id (text); {{fresh}} is the
-- path of the new file, substituted as a quoted literal.

-- ---------------------------------------------------------------- status: who is due on as_of
create or replace temp table floor_holds as
select organisation_id, subject_kind, subject_id
from audit.legal_holds
where released_at is null;

create or replace temp table floor_due as
with

organisations as (
    select organisation_id, contract_end, anonymise_requested_on
    from raw.organisations
),

held_organisations as (
    select distinct organisation_id from floor_holds where subject_kind = 'organisation'
),

held_pupils as (
    select distinct organisation_id, subject_id as pupil_id
    from floor_holds where subject_kind = 'pupil'
),

held_employees as (
    select distinct organisation_id, subject_id as employee_id
    from floor_holds where subject_kind = 'employee'
),

-- left_pupils_2_academic_years: next 1 September after leaving + 2 years;
-- pupils_2y_after_contract: contract end + 2 years, or the customer's request if sooner.
pupil_dates as (
    select
        pupils.organisation_id,
        pupils.pupil_id,
        cast(cast(date_trunc('year', pupils.leaving_date + interval 4 month)
            + interval 8 month as date) + interval 24 month as date) as left_due_on,
        least(cast(organisations.contract_end + interval 24 month as date),
              organisations.anonymise_requested_on) as contract_due_on
    from raw.pupils as pupils
    left join organisations on pupils.organisation_id = organisations.organisation_id
    where pupils.anonymised_on is null
),

-- the earlier due_on wins; on a tie left_pupils (tie_break_rank 1) beats the contract rule
pupils_due as (
    select
        organisation_id,
        'pupil' as subject_kind,
        pupil_id as subject_id,
        case
            when left_due_on is not null
                and (contract_due_on is null or left_due_on <= contract_due_on)
                then 'left_pupils_2_academic_years'
            else 'pupils_2y_after_contract'
        end as rule_id,
        least(left_due_on, contract_due_on) as due_on
    from pupil_dates
    where least(left_due_on, contract_due_on) <= getvariable('as_of')
        and organisation_id not in (select organisation_id from held_organisations)
        and (organisation_id, pupil_id) not in (select (organisation_id, pupil_id) from held_pupils)
),

-- contacts: 6 months after the pupil leaves or the contract ends, whichever is first
contacts_due as (
    select
        contacts.organisation_id,
        'pupil_contact' as subject_kind,
        contacts.contact_id as subject_id,
        'contacts_6m_after_removal' as rule_id,
        cast(least(pupils.leaving_date, organisations.contract_end) + interval 6 month as date)
            as due_on
    from raw.pupil_contacts as contacts
    left join raw.pupils as pupils
        on contacts.organisation_id = pupils.organisation_id
        and contacts.pupil_id = pupils.pupil_id
    left join organisations on contacts.organisation_id = organisations.organisation_id
    where cast(least(pupils.leaving_date, organisations.contract_end) + interval 6 month as date)
            <= getvariable('as_of')
        and contacts.organisation_id not in (select organisation_id from held_organisations)
        and (contacts.organisation_id, contacts.pupil_id)
            not in (select (organisation_id, pupil_id) from held_pupils)
),

-- correspondence: 3 years after the contract ends; held with the person it is about
held_correspondents as (
    select organisation_id, 'pupil' as about_kind, pupil_id as about_id from held_pupils
    union all
    select organisation_id, 'employee', employee_id from held_employees
    union all
    select contacts.organisation_id, 'contact', contacts.contact_id
    from raw.pupil_contacts as contacts
    inner join held_pupils
        on contacts.organisation_id = held_pupils.organisation_id
        and contacts.pupil_id = held_pupils.pupil_id
),

correspondence_due as (
    select distinct
        correspondence.organisation_id,
        'correspondence' as subject_kind,
        correspondence.correspondence_id as subject_id,
        'correspondence_3y_after_contract' as rule_id,
        cast(organisations.contract_end + interval 36 month as date) as due_on
    from raw.correspondence as correspondence
    inner join organisations on correspondence.organisation_id = organisations.organisation_id
    where cast(organisations.contract_end + interval 36 month as date) <= getvariable('as_of')
        and correspondence.organisation_id not in (select organisation_id from held_organisations)
        and (correspondence.organisation_id, correspondence.subject_kind, correspondence.subject_id)
            not in (select (organisation_id, about_kind, about_id) from held_correspondents)
),

-- setup imports: 1 year after the earliest processed_on of the import; organisation holds only
imports_due as (
    select
        organisation_id,
        'setup_import' as subject_kind,
        import_id as subject_id,
        'setup_imports_1y_after_processing' as rule_id,
        cast(min(processed_on) + interval 12 month as date) as due_on
    from raw.setup_imports
    where organisation_id not in (select organisation_id from held_organisations)
    group by organisation_id, import_id
    having cast(min(processed_on) + interval 12 month as date) <= getvariable('as_of')
),

-- employees: 1 month after leaving or the contract end, whichever is first
employees_due as (
    select
        employees.organisation_id,
        'employee' as subject_kind,
        employees.employee_id as subject_id,
        'employees_1m_after_leaving' as rule_id,
        cast(least(employees.leaving_date, organisations.contract_end) + interval 1 month as date)
            as due_on
    from raw.employees as employees
    left join organisations on employees.organisation_id = organisations.organisation_id
    where employees.anonymised_on is null
        and cast(least(employees.leaving_date, organisations.contract_end) + interval 1 month
            as date) <= getvariable('as_of')
        and employees.organisation_id not in (select organisation_id from held_organisations)
        and (employees.organisation_id, employees.employee_id)
            not in (select (organisation_id, employee_id) from held_employees)
)

select * from pupils_due
union all select * from contacts_due
union all select * from correspondence_due
union all select * from imports_due
union all select * from employees_due;

-- ---------------------------------------------------------------- plan: one surrogate each
create or replace temp table floor_plan as
select *, cast(gen_random_uuid() as varchar) as surrogate_id
from floor_due;

create or replace temp table floor_authors as
select distinct organisation_id, author_employee_id as employee_id
from raw.reports
where author_employee_id is not null
    and (organisation_id, author_employee_id) in (
        select (organisation_id, subject_id) from floor_plan where subject_kind = 'employee'
    );

-- what the suppression list needs, read before the statements clear it: the identifiers of
-- each person (keyed tokens of them stop a later setup-import row naming them)
create or replace temp table floor_identifiers as
select plan.subject_kind, plan.organisation_id, plan.subject_id, unnest(list_filter([
    'upn=' || nullif(upper(regexp_replace(person.upn, '\s', '', 'g')), ''),
    'id=' || nullif(trim(person.pupil_id), ''),
    'name_dob=' || nullif(lower(trim(regexp_replace(person.forename, '\s+', ' ', 'g'))), '')
    || '|' || nullif(lower(trim(regexp_replace(person.surname, '\s+', ' ', 'g'))), '')
    || '|' || strftime(person.date_of_birth, '%Y-%m-%d')
], lambda v: v is not null)) as identifier
from floor_plan as plan
inner join raw.pupils as person
    on plan.organisation_id = person.organisation_id and plan.subject_id = person.pupil_id
where plan.subject_kind = 'pupil'
union all
select plan.subject_kind, plan.organisation_id, plan.subject_id, unnest(list_filter([
    'id=' || nullif(trim(person.employee_id), ''),
    'trn=' || nullif(regexp_replace(upper(person.teacher_number), '[^0-9A-Z]', '', 'g'), ''),
    'email=' || nullif(lower(trim(person.email)), ''),
    'name=' || nullif(lower(trim(regexp_replace(person.forename, '\s+', ' ', 'g'))), '')
    || '|' || nullif(lower(trim(regexp_replace(person.surname, '\s+', ' ', 'g'))), '')
], lambda v: v is not null))
from floor_plan as plan
inner join raw.employees as person
    on plan.organisation_id = person.organisation_id and plan.subject_id = person.employee_id
where plan.subject_kind = 'employee'
union all
select plan.subject_kind, plan.organisation_id, plan.subject_id, 'id=' || trim(plan.subject_id)
from floor_plan as plan
where plan.subject_kind = 'pupil_contact';

-- the contacts deleted with their pupil: each goes on the list too (not those that are
-- subjects of their own rule in this run)
create or replace temp table floor_contacts_of_pupils as
select distinct contacts.organisation_id, contacts.contact_id, plan.rule_id
from floor_plan as plan
inner join raw.pupil_contacts as contacts
    on contacts.organisation_id = plan.organisation_id and contacts.pupil_id = plan.subject_id
where plan.subject_kind = 'pupil'
    and (contacts.organisation_id, contacts.contact_id) not in (
        select (organisation_id, subject_id) from floor_plan where subject_kind = 'pupil_contact'
    );

-- ---------------------------------------------------------------- apply: one transaction
begin transaction;

-- correspondence_3y_after_contract
delete from raw.correspondence as target using floor_plan as plan
where plan.subject_kind = 'correspondence'
    and target.organisation_id = plan.organisation_id
    and target.correspondence_id = plan.subject_id;

-- contacts_6m_after_removal
delete from raw.pupil_contacts as target using floor_plan as plan
where plan.subject_kind = 'pupil_contact'
    and target.organisation_id = plan.organisation_id
    and target.contact_id = plan.subject_id;

-- both pupil rules: clear identifiers, re-key everything to the surrogate, drop contacts
update raw.pupils as target set
    upn = null, forename = null, surname = null, date_of_birth = null, address = null,
    postcode = null, email = null, phone = null,
    pupil_id = plan.surrogate_id,
    anonymised_on = getvariable('as_of'),
    anonymised_by_rule_id = plan.rule_id
from floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

update raw.attendance_sessions as target set pupil_id = plan.surrogate_id
from floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

update raw.assessments as target set pupil_id = plan.surrogate_id
from floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

update raw.sen_records as target set notes = null, pupil_id = plan.surrogate_id
from floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

update raw.reports as target set title = null, pupil_id = plan.surrogate_id
from floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

delete from raw.pupil_contacts as target using floor_plan as plan
where plan.subject_kind = 'pupil'
    and target.organisation_id = plan.organisation_id
    and target.pupil_id = plan.subject_id;

-- setup_imports_1y_after_processing
delete from raw.setup_imports as target using floor_plan as plan
where plan.subject_kind = 'setup_import'
    and target.organisation_id = plan.organisation_id
    and target.import_id = plan.subject_id;

-- employees_1m_after_leaving: every detail but the name; the name too unless a report author
update raw.employees as target set
    email = null, phone = null, gender = null, teacher_number = null, role = null,
    forename = case when author.employee_id is null then null else target.forename end,
    surname = case when author.employee_id is null then null else target.surname end,
    employee_id = plan.surrogate_id,
    anonymised_on = getvariable('as_of'),
    anonymised_by_rule_id = plan.rule_id
from floor_plan as plan
left join floor_authors as author
    on plan.organisation_id = author.organisation_id and plan.subject_id = author.employee_id
where plan.subject_kind = 'employee'
    and target.organisation_id = plan.organisation_id
    and target.employee_id = plan.subject_id;

update raw.reports as target set author_employee_id = plan.surrogate_id
from floor_plan as plan
where plan.subject_kind = 'employee'
    and target.organisation_id = plan.organisation_id
    and target.author_employee_id = plan.subject_id;

-- every rule: quarantined copies that name the subject
delete from raw.quarantine as target using floor_plan as plan
where target.organisation_id = plan.organisation_id
    and plan.subject_id = trim(json_extract_string(target.raw_values, case plan.subject_kind
        when 'pupil' then '$.pupil_id'
        when 'pupil_contact' then '$.contact_id'
        when 'employee' then '$.employee_id'
        when 'correspondence' then '$.correspondence_id'
        when 'setup_import' then '$.import_id'
    end));

-- never again: the keyed token the loader drops returning subjects by. No surrogate of an
-- anonymised record (the list must not lead back to it), except an author whose name is
-- kept; a deleted subject gets a random id that nothing kept carries.
insert into audit.erasure_suppressions
select
    plan.subject_kind, plan.organisation_id,
    sha256(getvariable('tt_secret') || '|' || plan.subject_kind || '|' || plan.organisation_id
        || '|' || plan.subject_id),
    case
        when plan.subject_kind not in ('pupil', 'employee')
            then cast(gen_random_uuid() as varchar)
        when author.employee_id is not null then plan.surrogate_id
    end,
    plan.rule_id, getvariable('as_of'), getvariable('run_id')
from floor_plan as plan
left join floor_authors as author
    on plan.subject_kind = 'employee'
    and plan.organisation_id = author.organisation_id and plan.subject_id = author.employee_id;

insert into audit.erasure_suppressions
select
    'pupil_contact', organisation_id,
    sha256(getvariable('tt_secret') || '|pupil_contact|' || organisation_id || '|' || contact_id),
    null, rule_id, getvariable('as_of'), getvariable('run_id')
from floor_contacts_of_pupils;

insert into audit.erasure_identifiers
select distinct
    subject_kind, organisation_id,
    sha256(getvariable('tt_secret') || '|' || subject_kind || '|' || organisation_id || '|'
        || subject_id),
    split_part(identifier, '=', 1),
    sha256(getvariable('tt_secret') || '|' || subject_kind || '|' || organisation_id || '|'
        || identifier),
    getvariable('run_id')
from floor_identifiers;

update audit.legal_holds as hold set subject_id = plan.surrogate_id
from floor_plan as plan
where hold.organisation_id = plan.organisation_id
    and hold.subject_kind = plan.subject_kind
    and hold.subject_id = plan.subject_id;

insert into audit.retention_log
select
    getvariable('run_id'), getvariable('as_of'), rule_id, 'floor', 'floor', count(*), false,
    current_timestamp, current_timestamp, cast(getvariable('as_of') + interval 90 day as date),
    'bench/floor.sql'
from floor_plan
group by rule_id;

commit;

-- ---------------------------------------------------------------- physical erasure: rewrite
-- counts only (no identifier) for the report: subjects per rule the plan named
create or replace temp table floor_subject_counts as
select rule_id, count(distinct (subject_kind, organisation_id, subject_id)) as subjects
from floor_plan
group by rule_id;

drop table floor_plan;
drop table floor_due;
drop table floor_authors;
checkpoint wh;
attach {{fresh}} as fresh;
copy from database wh to fresh;
detach fresh;
