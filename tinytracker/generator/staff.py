"""Employees and the historical pupil reports they authored.

The employee retention rule keeps a leaver's name only if the leaver is named on a historical
report, so the extract must contain both kinds of leaver: teachers who wrote end-of-year
reports and then left, and leavers (support staff, or teachers who left before the reports
begin) who authored none. Every report is written by a teacher employed on its issue date
(the class teacher of the pupil's year group that year), falling back to the headteacher, who
is employed throughout.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from tinytracker.generator.calendar import academic_year_calendar
from tinytracker.generator.config import GeneratorConfig, academic_year_label
from tinytracker.generator.names import NamePools, ascii_slug
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils
from tinytracker.generator.roll import NAT

ROLES = {
    "primary": (
        ("Class teacher", 0.36, "qualified_teacher"),
        ("Teaching assistant", 0.3, "support_staff"),
        ("Higher level teaching assistant", 0.05, "support_staff"),
        ("Office administrator", 0.07, "support_staff"),
        ("Lunchtime supervisor", 0.08, "support_staff"),
        ("Site manager", 0.02, "support_staff"),
        ("Trainee teacher", 0.04, "unqualified_teacher"),
        ("Cover supervisor", 0.03, "support_staff"),
        ("Peripatetic music teacher", 0.02, "other"),
        ("Volunteer reader", 0.03, "other"),
    ),
    "secondary": (
        ("Teacher of mathematics", 0.1, "qualified_teacher"),
        ("Teacher of English", 0.1, "qualified_teacher"),
        ("Teacher of science", 0.1, "qualified_teacher"),
        ("Teacher of humanities", 0.08, "qualified_teacher"),
        ("Head of year", 0.04, "qualified_teacher"),
        ("Teaching assistant", 0.2, "support_staff"),
        ("Exams officer", 0.02, "support_staff"),
        ("Office administrator", 0.1, "support_staff"),
        ("Technician", 0.06, "support_staff"),
        ("Cover supervisor", 0.06, "support_staff"),
        ("Unqualified teacher", 0.08, "unqualified_teacher"),
        ("Careers adviser", 0.06, "other"),
    ),
    "nursery": (
        ("Nursery teacher", 0.25, "qualified_teacher"),
        ("Early years practitioner", 0.45, "support_staff"),
        ("Room leader", 0.12, "support_staff"),
        ("Nursery administrator", 0.08, "support_staff"),
        ("Apprentice practitioner", 0.1, "other"),
    ),
}
LEADERS = {
    "primary": (
        ("Headteacher", "qualified_teacher"),
        ("Deputy headteacher", "qualified_teacher"),
        ("SENCo", "qualified_teacher"),
    ),
    "secondary": (
        ("Headteacher", "qualified_teacher"),
        ("Deputy headteacher", "qualified_teacher"),
        ("SENCo", "qualified_teacher"),
    ),
    "nursery": (
        ("Head of nursery", "qualified_teacher"),
        ("Deputy manager", "support_staff"),
        ("SENCo", "qualified_teacher"),
    ),
}


def _days(day: date) -> np.datetime64:
    return np.datetime64(day, "D")


def build_employees(
    orgs: list[Organisation],
    pupils: Pupils,
    config: GeneratorConfig,
    rng: np.random.Generator,
    pools: NamePools,
) -> dict[str, np.ndarray]:
    """Employees per organisation (about one per 12 pupils on roll, at least five), plus
    leavers spread over the history; sorted by organisation and employee_id (E00001...)."""
    parts = []
    history_start = _days(date(config.history_start_year, 9, 1))
    for org in orgs:
        on_roll = int(((pupils.org_index == org.index) & np.isnat(pupils.leaving_date)).sum())
        current = max(5, round(max(on_roll, org.pupils) / 12))
        leavers = max(3, round(current * 0.45))
        n = current + leavers
        end = _days(org.data_end)
        roles = list(LEADERS[org.phase])
        options = ROLES[org.phase]
        weights = np.array([o[1] for o in options])
        picks = rng.choice(len(options), size=n - len(roles), p=weights / weights.sum())
        roles += [(options[i][0], options[i][2]) for i in picks]
        # Leaders are current; leavers come from the other roles, so some leavers are support
        # staff (who never author reports) and some are teachers (who do).
        is_leaver = np.zeros(n, dtype=bool)
        is_leaver[
            len(LEADERS[org.phase]) + rng.permutation(n - len(LEADERS[org.phase]))[:leavers]
        ] = True
        start = end - rng.integers(60, 365 * 22, size=n).astype("timedelta64[D]")
        start[0] = min(start[0], history_start - np.timedelta64(400, "D"))
        leaving = np.full(n, NAT)
        span_from = np.maximum(
            start + np.timedelta64(90, "D"), history_start - np.timedelta64(730, "D")
        )
        span = (end - np.timedelta64(1, "D") - span_from).astype(int)
        ok = is_leaver & (span > 0)
        leaving[ok] = span_from[ok] + (rng.random(int(ok.sum())) * span[ok]).astype(
            "timedelta64[D]"
        )
        gender = np.where(rng.random(n) < 0.75, "F", "M").astype(object)
        gender[rng.random(n) < 0.01] = "U"
        culture = np.where(rng.random(n) < 0.85, "gb", "south_asian").astype(object)
        forename = pools.forenames(rng, culture, gender)
        surname = pools.surnames_for(rng, culture)
        email = np.array(
            [
                f"{ascii_slug(f)[:1]}.{ascii_slug(s)}@{org.domain}"
                for f, s in zip(forename, surname)
            ],
            dtype=object,
        )
        phone = pools.pick(rng, pools.mobiles, n)
        phone[rng.random(n) < 0.1] = None
        status = np.array([r[1] for r in roles], dtype=object)
        qualified_year = np.maximum(
            start.astype("datetime64[Y]").astype(int) + 1970 - rng.integers(0, 6, n), 1975
        )
        trn = np.array(
            [f"{y % 100:02d}{k:05d}" for y, k in zip(qualified_year, rng.integers(0, 100000, n))],
            dtype=object,
        )
        legacy = rng.random(n) < 0.03
        trn[legacy] = [
            f"RP{y % 100:02d}/{k:05d}"
            for y, k in zip(qualified_year[legacy], rng.integers(10000, 100000, int(legacy.sum())))
        ]
        trn[status != "qualified_teacher"] = None
        parts.append(
            {
                "org_index": np.full(n, org.index),
                "employee_id": np.array([f"E{k:05d}" for k in range(1, n + 1)], dtype=object),
                "forename": forename,
                "surname": surname,
                "gender": gender,
                "email": email,
                "phone": phone,
                "role": np.array([r[0] for r in roles], dtype=object),
                "teaching_status": status,
                "teacher_number": trn,
                "start_date": start,
                "leaving_date": leaving,
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def build_reports(
    pupils: Pupils,
    employees: dict[str, np.ndarray],
    orgs: list[Organisation],
    config: GeneratorConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """End-of-year reports for pupils on roll in each year from two years before the window,
    plus SEN review reports by the SENCo; sorted by organisation and report_id (R0000001...)."""
    first_year = max(config.history_start_year, config.window_start_year - 2)
    emp_org = employees["org_index"]
    authors_role = employees["role"]
    start, leaving = employees["start_date"], employees["leaving_date"]
    teacher = np.array(
        ["teacher" in r.lower() or r in ("Headteacher", "Head of year") for r in authors_role]
    )
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.datetime64]] = []
    for org in orgs:
        in_org = np.flatnonzero(emp_org == org.index)
        head = in_org[0]
        sen_lead = in_org[2]
        for year in range(first_year, config.current_academic_year + 1):
            issue_day = _days(academic_year_calendar(year).last_day - timedelta(days=8))
            if issue_day > _days(org.data_end):
                continue
            employed = in_org[
                (start[in_org] <= issue_day)
                & (np.isnat(leaving[in_org]) | (leaving[in_org] >= issue_day))
            ]
            teachers = employed[teacher[employed] & (employed != head)]
            pupils_now = np.flatnonzero(
                (pupils.org_index == org.index)
                & (pupils.admission_date <= issue_day)
                & (pupils.last_on_roll >= issue_day)
            )
            if not len(pupils_now):
                continue
            cohort = pupils.birth_cohort[pupils_now]
            if len(teachers):
                author = teachers[(cohort - cohort.min() + year) % len(teachers)]
            else:
                author = np.full(len(pupils_now), head)
            report_title = f"End of year report {academic_year_label(year)}"
            rows.append(
                (
                    pupils_now,
                    author,
                    np.full(len(pupils_now), report_title, dtype=object),
                    issue_day,
                )
            )
            sen = pupils_now[pupils.sen_provision[pupils_now] != "N"]
            review = issue_day - np.timedelta64(40, "D")
            sen = sen[pupils.admission_date[sen] <= review]
            if len(sen) and start[sen_lead] <= review:
                rows.append(
                    (
                        sen,
                        np.full(len(sen), sen_lead),
                        np.full(
                            len(sen),
                            f"SEN support plan review {academic_year_label(year)}",
                            dtype=object,
                        ),
                        review,
                    )
                )
    pupil_row = np.concatenate([r[0] for r in rows])
    author = np.concatenate([r[1] for r in rows])
    title = np.concatenate([r[2] for r in rows])
    issued = np.concatenate([np.full(len(r[0]), r[3]) for r in rows])
    order = np.lexsort((title.astype(str), issued, pupil_row))
    pupil_row, author, title, issued = pupil_row[order], author[order], title[order], issued[order]
    org_index = pupils.org_index[pupil_row]
    # report ids in issue order within the organisation, as an MIS would number them
    by_issue = np.lexsort((pupil_row, issued, org_index))
    number = np.zeros(len(pupil_row), dtype=np.int64)
    for o in np.unique(org_index):
        sel = by_issue[org_index[by_issue] == o]
        number[sel] = np.arange(1, len(sel) + 1)
    final = np.lexsort((number, org_index))
    pupil_row, author, title, issued, org_index, number = (
        pupil_row[final],
        author[final],
        title[final],
        issued[final],
        org_index[final],
        number[final],
    )
    return {
        "org_index": org_index,
        "pupil_row": pupil_row,
        "report_id": np.array([f"R{k:07d}" for k in number], dtype=object),
        "pupil_id": pupils.pupil_id[pupil_row],
        "author_employee_id": employees["employee_id"][author],
        "title": title,
        "issued_on": issued,
    }
