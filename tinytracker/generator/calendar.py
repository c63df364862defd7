"""An English school calendar: three terms, half terms, bank holidays and INSET days.

Attendance marks exist only for school days, so the generator needs a plausible term
calendar: autumn from early September to just before Christmas with an October half term;
spring from early January to the Friday before Holy Week with a February half term; summer
from the Monday after Easter week to about 22 July with the late-May half term and the early
May bank holiday closed. About 195 days a year, five of them INSET (staff training) days on
which every pupil gets ``#``, leaving about 190 pupil days (380 sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _monday_of_week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) given weekday of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _weekdays(start: date, end: date) -> list[date]:
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _first_weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class AcademicYearCalendar:
    """School days of one academic year (``start_year``/``start_year+1``)."""

    start_year: int
    school_days: tuple[date, ...]
    inset_days: frozenset[date]

    @property
    def pupil_days(self) -> tuple[date, ...]:
        return tuple(d for d in self.school_days if d not in self.inset_days)

    @property
    def first_pupil_day(self) -> date:
        return self.pupil_days[0]

    @property
    def last_day(self) -> date:
        return self.school_days[-1]

    def days_between(self, start: date, end: date) -> list[date]:
        return [d for d in self.pupil_days if start <= d <= end]


@cache
def academic_year_calendar(start_year: int) -> AcademicYearCalendar:
    """The term calendar for the academic year starting in September of ``start_year``."""
    y1, y2 = start_year, start_year + 1
    # Autumn: first weekday from 2 September to the last weekday on or before 20 December.
    autumn_start = _first_weekday_on_or_after(date(y1, 9, 2))
    autumn_end = date(y1, 12, 20)
    while autumn_end.weekday() >= 5:
        autumn_end -= timedelta(days=1)
    october_half = _monday_of_week(_nth_weekday(y1, 10, 0, -1))
    # Spring: from 3 January (a Friday start moves to Monday) to the Friday before Holy Week.
    spring_start = _first_weekday_on_or_after(date(y2, 1, 3))
    if spring_start.weekday() == 4:
        spring_start += timedelta(days=3)
    easter = easter_sunday(y2)
    holy_week = easter - timedelta(days=6)
    spring_end = holy_week - timedelta(days=3)
    february_half = _nth_weekday(y2, 2, 0, 3)
    # Summer: Monday after Easter week to the weekday on or before 22 July.
    summer_start = easter + timedelta(days=8)
    summer_end = date(y2, 7, 22)
    while summer_end.weekday() >= 5:
        summer_end -= timedelta(days=1)
    may_bank_holiday = _nth_weekday(y2, 5, 0, 1)
    may_half = _nth_weekday(y2, 5, 0, -1)

    closed: set[date] = {may_bank_holiday}
    for week_start in (october_half, february_half, may_half):
        closed.update(week_start + timedelta(days=i) for i in range(5))
    terms = [(autumn_start, autumn_end), (spring_start, spring_end), (summer_start, summer_end)]
    days: list[date] = []
    for start, end in terms:
        days.extend(d for d in _weekdays(start, end) if d not in closed)
    # INSET: the first two days of autumn, the first day of spring and of summer, and the
    # Monday after the February half term (a common pattern; exact days vary by school).
    autumn_days = [d for d in days if d <= autumn_end]
    spring_days = [d for d in days if spring_start <= d <= spring_end]
    summer_days = [d for d in days if d >= summer_start]
    after_february = [d for d in spring_days if d > february_half + timedelta(days=4)]
    inset = {autumn_days[0], autumn_days[1], spring_days[0], summer_days[0], after_february[0]}
    return AcademicYearCalendar(start_year, tuple(days), frozenset(inset))


def school_days_array(start_year: int, end_year: int) -> tuple[np.ndarray, np.ndarray]:
    """All school days of academic years ``start_year..end_year`` as datetime64[D], with an
    INSET flag array; sorted."""
    days: list[date] = []
    inset: list[bool] = []
    for year in range(start_year, end_year + 1):
        cal = academic_year_calendar(year)
        days.extend(cal.school_days)
        inset.extend(d in cal.inset_days for d in cal.school_days)
    return np.array(days, dtype="datetime64[D]"), np.array(inset, dtype=bool)


def pupil_days_array(start_year: int, end_year: int) -> np.ndarray:
    """School days without INSET days, datetime64[D], sorted: dates a pupil can join or leave."""
    days, inset = school_days_array(start_year, end_year)
    return days[~inset]
