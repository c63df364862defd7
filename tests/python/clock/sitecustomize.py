"""A frozen clock for a whole process tree (tests only): put this folder on PYTHONPATH and set
TINYTRACKER_TEST_CLOCK=YYYY-MM-DDTHH:MM:SS (UTC), and every Python process started with that
environment (the CLI, dbt) sees that moment as now: ``date.today()``, ``datetime.now()``,
``datetime.utcnow()`` and ``datetime.today()`` (not ``tinytracker generate``, see below).

``datetime.date`` and ``datetime.datetime`` are replaced by subclasses before any other module
is imported; ``isinstance`` still accepts the real types' instances (DuckDB returns those).
"""

import datetime as _dt
import os
import sys

# Not for `tinytracker generate`: its dates come from --extract-date, never from the clock, and
# its millions of date constructions through these Python subclasses take minutes, not seconds.
_FROZEN = os.environ.get("TINYTRACKER_TEST_CLOCK") if "generate" not in sys.argv[1:2] else None

if _FROZEN:
    # Libraries that subclass date with a metaclass of their own (pydantic v1's constrained
    # dates, which dbt imports) must see the real classes: import them before the swap.
    try:
        import pydantic.v1.types  # noqa: F401
    except ImportError:
        pass
    _real_date, _real_datetime = _dt.date, _dt.datetime
    _now = _real_datetime.fromisoformat(_FROZEN).replace(tzinfo=_dt.UTC)

    class _DateMeta(type):
        def __instancecheck__(cls, obj):
            return isinstance(obj, _real_date)

        def __subclasscheck__(cls, sub):
            return issubclass(sub, _real_date)

    class _DatetimeMeta(_DateMeta):
        def __instancecheck__(cls, obj):
            return isinstance(obj, _real_datetime)

        def __subclasscheck__(cls, sub):
            return issubclass(sub, _real_datetime)

    class FrozenDate(_real_date, metaclass=_DateMeta):
        @classmethod
        def today(cls):
            return _now.date()

    class FrozenDatetime(_real_datetime, metaclass=_DatetimeMeta):
        @classmethod
        def now(cls, tz=None):
            if tz is None:
                return _now.astimezone().replace(tzinfo=None)
            return _now.astimezone(tz)

        @classmethod
        def utcnow(cls):
            return _now.replace(tzinfo=None)

        @classmethod
        def today(cls):
            return cls.now()

    _dt.date = FrozenDate
    _dt.datetime = FrozenDatetime
