"""The calendar every schedule and run default uses: Europe/London, as the service runs in England.

A schedule passes the date it was *scheduled* for (not the wall-clock time the run started),
so a run delayed by the ``warehouse`` pool, or re-executed the next morning, still evaluates
the day it was meant for.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from orchestration.errors import TinyTrackerError

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
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise TinyTrackerError(
            f"run config {field} must be a calendar date written YYYY-MM-DD, got {value!r}"
        ) from None
