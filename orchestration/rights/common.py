"""Small helpers shared by the rights modules: who, when, dates and organisation checks."""

from __future__ import annotations

import calendar
import datetime as dt
import getpass

import duckdb

from orchestration.errors import TinyTrackerError


def operator(name: str | None = None) -> str:
    """Who handles a request (``--by``), else the OS login: audit rows say who acted."""
    return (name or "").strip() or getpass.getuser()


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


def parse_date(value: str | dt.date | None, option: str) -> dt.date | None:
    """A calendar date from ``YYYY-MM-DD`` for ``option`` (None stays None)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise TinyTrackerError(
            f"{option} must be a calendar date written YYYY-MM-DD, got {value!r}"
        ) from None


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether dbt (or the loader) has created ``schema.name`` (a table or a view)."""
    return con.execute(
        "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views()) "
        "where schema_name = ? and name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def require_organisation(con: duckdb.DuckDBPyConnection, organisation_id: str) -> str:
    """The organisation's name; a clear error when it is not in the warehouse.

    An organisation whose very first extract was refused (MIS permission revoked) was never
    stored, so it is unknown here too: say so rather than "not found".
    """
    rows = con.execute(
        "select coalesce(name, '') from raw.organisations where organisation_id = ?",
        [organisation_id],
    ).fetchall()
    if not rows:
        raise TinyTrackerError(
            f"unknown organisation {organisation_id!r}: it is not in the warehouse (never "
            "loaded, or every extract of it was refused because its MIS permission is revoked)"
        )
    return rows[0][0]
