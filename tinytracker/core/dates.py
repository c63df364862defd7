"""Dates: the calendar every schedule and run default uses (Europe/London, as the service runs
in England), the one parser of ``YYYY-MM-DD`` options, and month arithmetic.

A schedule passes the date it was *scheduled* for (not the wall-clock time the run started),
so a run delayed by the ``warehouse`` pool, or re-executed the next morning, still evaluates
the day it was meant for.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from tinytracker.core.errors import TinyTrackerError

TIMEZONE = "Europe/London"


def london_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in London (the default ``as_of`` of a run launched by hand)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(TIMEZONE)).date()


def scheduled_date(scheduled_execution_time: dt.datetime | None) -> dt.date:
    """The London calendar date a schedule tick was for (today when there is no tick time)."""
    if scheduled_execution_time is None:
        return london_today()
    if scheduled_execution_time.tzinfo is None:
        scheduled_execution_time = scheduled_execution_time.replace(tzinfo=ZoneInfo(TIMEZONE))
    return london_today(scheduled_execution_time)


def resolve_date(value: str | None, *, field: str = "as_of") -> dt.date:
    """A run config date (``YYYY-MM-DD``) or, when omitted, today in London."""
    if value is None or not value.strip():
        return london_today()
    parsed = parse_date(value, f"run config {field}")
    assert parsed is not None
    return parsed


def parse_date(value: str | dt.date | None, option: str = "--as-of") -> dt.date | None:
    """A calendar date from ``YYYY-MM-DD`` given as ``option`` (None stays None)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise TinyTrackerError(
            f"{option} must be a calendar date written YYYY-MM-DD, got {value!r}"
        ) from None


def utc_now() -> dt.datetime:
    """Audit timestamps are UTC without a zone, like every ``*_at`` column of the warehouse."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day + months``, clamped to the month's end (spec: 2025-01-31 + 1 month = 2025-02-28).

    The same arithmetic as the retention rules, so a request due date reads like a rule's.
    """
    years, month_index = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
