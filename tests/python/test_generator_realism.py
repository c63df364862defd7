"""The synthetic extract looks like a real trust's: valid UPNs, year groups by age, marks only
on school days, leavers across years and on the retention edge dates, national-looking pupil
characteristics, attendance and assessments, and every subject kind the retention rules need.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from tinytracker.core.upn import is_temporary_upn, is_valid_upn, make_upn, upn_check_letter
from tinytracker.generator.calendar import academic_year_calendar

from generator_helpers import generated_db, generated_extract  # noqa: F401 - fixtures


@pytest.mark.parametrize(
    "upn",
    [
        "B801200005001",
        "H801200001001",
        "G80120000101A",
        "X00180001701A",
        "A950000178301",
        "P207000016049",
    ],
)
# ---------------------------------------------------------------- UPN check letters


def test_upn_examples_from_school_data_are_valid(upn):
    assert is_valid_upn(upn)
    assert upn_check_letter(upn) == upn[0]


@pytest.mark.parametrize(
    "upn", ["A801200005001", "Z801200001001", "R247962919251", "Q207000016049", "G80120000101S"]
)
def test_upn_invalid_examples_from_school_data_are_rejected(upn):
    assert not is_valid_upn(upn)


def test_upn_with_letters_i_o_s_or_wrong_shape_is_rejected():
    assert upn_check_letter("?80120000101S") is None
    assert upn_check_letter("?80120000101I") is None
    assert not is_valid_upn("B80120000500")  # 12 characters
    assert not is_valid_upn("B8012000050A1")  # letter before position 13
    assert make_upn("801200005001") == "B801200005001"
    assert is_temporary_upn("G80120000101A") and not is_temporary_upn("B801200005001")


def test_pupil_year_group_is_age_on_31_august_of_the_last_year_on_roll(generated_db):
    """Year group is the one of the academic year containing the pupil's last day on roll:
    the leaving date, or the organisation's last data day (contract end or extract date)."""
    rows = generated_db.execute("""
        select p.date_of_birth, y.age_on_31_august,
               coalesce(p.leaving_date, least(o.contract_end, '2025-07-18')) as last_day
        from pupils p join organisations o using (organisation_id)
        join seed_year_groups y on y.year_group = p.year_group""").fetchall()
    assert len(rows) > 500
    for dob, age, last_day in rows:
        born, last = date.fromisoformat(dob), date.fromisoformat(last_day)
        year = last.year if last.month >= 9 else last.year - 1
        assert year - born.year - ((born.month, born.day) > (8, 31)) == int(age), (dob, last_day)


def test_attendance_marks_only_on_school_days_while_on_roll(generated_db):
    outside = generated_db.execute("""
        select count(*) from attendance_sessions a join pupils p using (organisation_id, pupil_id)
        where cast(a.session_date as date) < cast(p.admission_date as date)
           or cast(a.session_date as date)
              > coalesce(cast(p.leaving_date as date), date '2025-07-18')
           or dayofweek(cast(a.session_date as date)) in (0, 6)""").fetchone()[0]
    assert outside == 0


# ---------------------------------------------------------------- organisations


def test_every_organisation_state_the_retention_rules_need_is_present(generated_db):
    rows = {
        r[0]: r[1:]
        for r in generated_db.execute("""
        select organisation_id, organisation_type, trust_id, contract_end, anonymise_requested_on,
               mis_permission, share_with_trust from organisations order by 1""").fetchall()
    }
    assert rows["ORG001"] == ("school", "TR001", None, None, "granted", "true")
    assert rows["ORG002"][2] == "2021-08-31"
    assert rows["ORG003"][2] == "2025-03-31"
    assert rows["ORG004"][2] is None and rows["ORG004"][3] == "2025-09-01"
    assert rows["ORG005"][4] == "revoked"
    assert rows["ORG006"][1] == rows["ORG007"][1] == "TR001"
    assert (rows["ORG006"][5], rows["ORG007"][5]) == ("true", "false")
    assert {r[0] for r in rows.values()} == {"school", "nursery"}


# ---------------------------------------------------------------- pupils


def test_leavers_span_several_years_and_the_retention_edge_dates(generated_db):
    years = {
        r[0]
        for r in generated_db.execute(
            "select distinct left(leaving_date, 4) from pupils where leaving_date is not null"
        ).fetchall()
    }
    assert {"2019", "2020", "2021", "2022", "2023", "2024", "2025"} <= years
    dates = {
        r[0]
        for r in generated_db.execute(
            "select leaving_date from pupils where organisation_id = 'ORG001'"
        ).fetchall()
    }
    assert {"2024-07-31", "2024-08-31", "2023-09-01", "2024-02-29", "2023-07-20"} <= dates


def test_upns_are_valid_unique_and_realistic(generated_db):
    upns = [
        r[0]
        for r in generated_db.execute("select upn from pupils where upn is not null").fetchall()
    ]
    assert all(is_valid_upn(u) for u in upns)
    assert len(set(upns)) == len(upns)
    temporary = sum(is_temporary_upn(u) for u in upns)
    assert 0 < temporary < 0.05 * len(upns)
    prefixes = generated_db.execute("""
        select organisation_id, count(distinct substr(upn, 2, 7)) from pupils
        where organisation_id = 'ORG001' group by 1""").fetchone()[1]
    assert prefixes > 1  # own school plus transferred-in pupils' schools


def test_pupil_characteristics_are_roughly_national(generated_db):
    share = lambda where: generated_db.execute(  # noqa: E731
        f"select avg(case when {where} then 1.0 else 0 end) from pupils"
    ).fetchone()[0]
    assert (
        0.55
        < share("ethnicity in (select code from seed_ethnicity_codes where main_code = 'WBRI')")
        < 0.8
    )
    assert 0.7 < share("first_language in ('ENG', 'ENB')") < 0.92
    assert 0.15 < share("fsm_eligible = 'true'") < 0.35
    assert 0.08 < share("sen_provision = 'K'") < 0.2
    assert 0.02 < share("sen_provision = 'E'") < 0.08
    assert share("gender = 'U'") < 0.03


def test_sen_records_exist_for_every_sen_pupil(generated_db):
    missing = generated_db.execute("""
        select count(*) from pupils p where sen_provision in ('K', 'E') and not exists (
            select 1 from sen_records s where s.organisation_id = p.organisation_id
            and s.pupil_id = p.pupil_id and s.provision = p.sen_provision)""").fetchone()[0]
    assert missing == 0


# ---------------------------------------------------------------- attendance


def test_both_attendance_code_sets_appear_around_august_2024(generated_db):
    marks = dict(
        generated_db.execute("""
        select case when session_date < '2024-08-19' then 'old' else 'new' end,
               list(distinct mark) from attendance_sessions group by 1""").fetchall()
    )
    assert {"H"} <= set(marks["old"]) and not {"K", "C1", "C2", "J1", "Y1"} & set(marks["old"])
    assert {"C2"} <= set(marks["new"]) and not {"H", "F", "J", "Y"} & set(marks["new"])
    assert "#" in marks["old"] and "#" in marks["new"]


def test_attendance_rates_are_realistic(generated_db):
    overall, persistent, severe = generated_db.execute("""
        with marks as (
            select a.organisation_id, a.pupil_id, c.category
            from attendance_sessions a join seed_attendance_codes c on c.code = a.mark
            where c.counts_as_possible = 'true'),
        per_pupil as (
            select count(*) as possible,
                   count(*) filter (where category in ('present', 'approved_activity')) as attended
            from marks group by organisation_id, pupil_id having count(*) >= 60)
        select sum(attended) / sum(possible),
               avg(case when 1 - attended / possible >= 0.1 then 1.0 else 0 end),
               avg(case when 1 - attended / possible >= 0.5 then 1.0 else 0 end)
        from per_pupil""").fetchone()
    assert 0.90 <= overall <= 0.97
    assert 0.08 <= persistent <= 0.30
    assert 0.003 <= severe <= 0.06
    top = generated_db.execute("""
        select mark from attendance_sessions join seed_attendance_codes on code = mark
        where category in ('present', 'approved_activity') and mark not in ('/', '\\')
        group by mark order by count(*) desc limit 1""").fetchone()[0]
    assert top == "L"
    top_authorised = generated_db.execute("""
        select mark from attendance_sessions join seed_attendance_codes on code = mark
        where category = 'authorised' group by mark order by count(*) desc limit 1""").fetchone()[0]
    assert top_authorised == "I"


def test_about_190_pupil_days_a_year_with_inset_days():
    for year in range(2019, 2026):
        cal = academic_year_calendar(year)
        assert 185 <= len(cal.pupil_days) <= 195
        assert len(cal.inset_days) == 5


# ---------------------------------------------------------------- other files


def test_assessments_cover_each_stage_and_correlate(generated_db):
    names = {
        r[0] for r in generated_db.execute("select distinct assessment from assessments").fetchall()
    }
    assert {
        "EYFSP_E01",
        "EYFSP_E17",
        "PHONICS",
        "MTC",
        "KS2_READ",
        "KS2_MATHS",
        "KS2_GPS",
        "KS2_WRITING_TA",
        "GCSE_MATHS",
    } <= names
    correlation = generated_db.execute("""
        select corr(try_cast(r.result as double), try_cast(m.result as double))
        from assessments r join assessments m using (organisation_id, pupil_id, academic_year)
        where r.assessment = 'KS2_READ' and m.assessment = 'KS2_MATHS'""").fetchone()[0]
    assert correlation > 0.5


def test_employees_include_leavers_with_and_without_historical_reports(generated_db):
    authored, not_authored = generated_db.execute("""
        select count(*) filter (where authored), count(*) filter (where not authored) from (
            select e.leaving_date, exists (select 1 from reports r
                   where r.organisation_id = e.organisation_id
                   and r.author_employee_id = e.employee_id) as authored
            from employees e where e.leaving_date is not null)""").fetchone()
    assert authored > 0 and not_authored > 0
    unknown_authors = generated_db.execute("""
        select count(*) from reports r where not exists (select 1 from employees e
        where e.organisation_id = r.organisation_id and e.employee_id = r.author_employee_id
        and e.start_date <= r.issued_on
        and coalesce(e.leaving_date, '9999') >= r.issued_on)""").fetchone()[0]
    assert unknown_authors == 0
    trns = [
        r[0]
        for r in generated_db.execute(
            "select teacher_number from employees where teacher_number is not null"
        ).fetchall()
    ]
    assert all(t.isdigit() and len(t) == 7 or t.startswith("RP") for t in trns)


def test_correspondence_names_existing_subjects_of_each_kind(generated_db):
    kinds = dict(
        generated_db.execute(
            "select subject_kind, count(*) from correspondence group by 1"
        ).fetchall()
    )
    assert set(kinds) == {"pupil", "contact", "employee"}
    orphans = generated_db.execute("""
        select count(*) from correspondence c where not exists (
            select 1 from pupils p where c.subject_kind = 'pupil'
                and p.organisation_id = c.organisation_id and p.pupil_id = c.subject_id
            union all select 1 from pupil_contacts k where c.subject_kind = 'contact'
                and k.organisation_id = c.organisation_id and k.contact_id = c.subject_id
            union all select 1 from employees e where c.subject_kind = 'employee'
                and e.organisation_id = c.organisation_id and e.employee_id = c.subject_id)
        """).fetchone()[0]
    assert orphans == 0


def test_setup_imports_hold_json_rows_naming_pupils_old_and_recent(generated_db):
    rows = generated_db.execute(
        "select organisation_id, processed_on, payload from setup_imports"
    ).fetchall()
    upns = {
        (r[0], r[1])
        for r in generated_db.execute("select organisation_id, upn from pupils").fetchall()
    }
    for org, _processed, payload in rows[:500]:
        record = json.loads(payload)
        assert (org, record["upn"]) in upns and record["forename"]
    processed = {date.fromisoformat(r[1]) for r in rows}
    assert min(processed) < date(2024, 7, 18) < max(processed)
