"""How to open the warehouse: one writer at a time, with a clear message when it is busy.

DuckDB allows one writer per file, so every writer goes through :func:`connect`, which waits a
little for a lock held by another process and then fails with a message naming the file,
instead of DuckDB's raw IO error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from tinytracker.core.errors import BusyError, RefusedError, TinyTrackerError
from tinytracker.core.paths import db_path

LOCK_WAIT_ENV = "TINYTRACKER_LOCK_WAIT_SECONDS"
MEMORY_LIMIT_ENV = "TINYTRACKER_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"  # DuckDB spills past it; profiles.yml reads the same variable


THREADS_ENV = "TINYTRACKER_THREADS"


def memory_limit(environ: Mapping[str, str] = os.environ) -> str:
    """DuckDB's memory limit as an environment gives it (the benchmark records it per run)."""
    return environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)


def duckdb_config() -> dict[str, str | bool | int | float | list[str]]:
    """Settings every warehouse connection uses (dbt's profile sets the same)."""
    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit()}
    if os.environ.get(THREADS_ENV):  # unset: DuckDB's default, one thread per core
        config["threads"] = int(os.environ[THREADS_ENV])
    return config


def connect(
    path: Path | None = None, *, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting briefly if another process holds DuckDB's write lock."""
    path = path or db_path()
    if read_only and not path.exists():
        raise TinyTrackerError(f"no warehouse at {path}: load an extract first (tinytracker load)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if wait_seconds is None:
        wait_seconds = float(os.environ.get(LOCK_WAIT_ENV, "10"))
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=duckdb_config())
            if not read_only:
                owner_only(path)
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise TinyTrackerError(f"cannot open warehouse {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"warehouse {path} is locked by another process (DuckDB allows one writer); "
                    f"waited {wait_seconds:.0f}s. Wait for the running load, build or retention "
                    "run to finish, then try again."
                ) from exc
            time.sleep(0.5)


def owner_only(path: Path) -> None:
    """Make the warehouse file (and its WAL) readable by its owner only. The commands create
    files under umask 077, but a file from an older version, a copy made by hand or a restore
    from elsewhere may be world-readable: every writer closes that gap when it opens it."""
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours: the owner's process will fix it
            continue


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether dbt (or the loader) has created ``schema.name`` (a table or a view)."""
    found = scalar(
        con,
        "select count(*) from (select schema_name, table_name as name from duckdb_tables() "
        "union all select schema_name, view_name from duckdb_views()) "
        "where schema_name = ? and name = ?",
        [schema, name],
    )
    return int(found) > 0


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
        raise RefusedError(
            f"unknown organisation {organisation_id!r}: it is not in the warehouse (never "
            "loaded, or every extract of it was refused because its MIS permission is revoked)"
        )
    return str(rows[0][0])


def fetch_row(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[object] | Mapping[str, object] | None = None,
) -> tuple[Any, ...]:
    """The first row of ``sql``, for queries that always return one.

    Aggregates (``count(*)``), ``current_database()`` and DuckDB's row count after an insert,
    update, delete or merge each return exactly one row. DuckDB's ``fetchone`` is typed as
    possibly ``None``; this says once what every caller assumes, and fails with the query in
    the message should the assumption ever break, instead of a ``TypeError`` on ``None``.
    """
    row = con.execute(sql, params).fetchone()
    if row is None:
        summary = " ".join(sql.split())[:200]
        raise RuntimeError(f"query returned no row where one was expected: {summary}")
    return row


def scalar(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[object] | Mapping[str, object] | None = None,
) -> Any:
    """The first column of the one row ``sql`` returns (see :func:`fetch_row`)."""
    return fetch_row(con, sql, params)[0]
