"""Publish the analytic marts, and nothing else, for analysts.

Analysts never open the warehouse: it holds raw pupil data and only one process may write to
it. After each build the tables of schema ``marts`` are copied into a separate DuckDB file
(env ``TINYTRACKER_ANALYTICS_DB``, default ``warehouse/analytics.duckdb``) that analysts open
read-only, and written as one Parquet file per mart beside it (``warehouse/analytics/``).

The new file is written beside the target under a temporary name and renamed over it in one
step, so a reader sees either the old file or the new one, never half of one (a process that
has the old file open keeps reading the old copy). The file is also made read-only on disk,
so opening it without ``read_only`` fails instead of taking a write lock. Table and column
comments (the dbt docs, persisted by ``persist_docs``) travel with the tables.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tinytracker.core import faults, paths, warehouse
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.warehouse import scalar

ANALYTICS_DB_ENV = "TINYTRACKER_ANALYTICS_DB"
DEFAULT_ANALYTICS_DB = "warehouse/analytics.duckdb"
MARTS_SCHEMA = "marts"
PARQUET_DIR_NAME = "analytics"
READ_ONLY_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SHARED_DIR_MODE = 0o755


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote: the analyst database, the Parquet folder and rows per mart."""

    analytics_db: Path
    parquet_dir: Path
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.row_counts)


def analytics_db_path() -> Path:
    """The analyst database: env ``TINYTRACKER_ANALYTICS_DB`` (relative to the project) or the
    default ``warehouse/analytics.duckdb``."""
    path = Path(os.environ.get(ANALYTICS_DB_ENV, DEFAULT_ANALYTICS_DB))
    if not path.is_absolute():
        path = paths.PROJECT_DIR / path
    return path


def default_parquet_dir(analytics_db: Path) -> Path:
    """``analytics/`` beside the analyst database (``warehouse/analytics/`` by default)."""
    return analytics_db.parent / PARQUET_DIR_NAME


def publish_marts(
    warehouse_db: Path | None = None,
    analytics_db: Path | None = None,
    parquet_dir: Path | None = None,
) -> PublishResult:
    """Copy every table of schema ``marts`` into a fresh analyst database and Parquet files.

    Raises :class:`TinyTrackerError` when the warehouse has no marts (nothing built yet) or
    when the analyst database would overwrite the warehouse itself.
    """
    warehouse_db = (warehouse_db or paths.db_path()).resolve()
    analytics_db = (analytics_db or analytics_db_path()).resolve()
    parquet_dir = (parquet_dir or default_parquet_dir(analytics_db)).resolve()
    if analytics_db == warehouse_db:
        raise TinyTrackerError(
            f"the analyst database {analytics_db} is the warehouse itself: set "
            f"{ANALYTICS_DB_ENV} to another file"
        )
    if not warehouse_db.exists():
        raise TinyTrackerError(f"no warehouse at {warehouse_db}: load and build first")

    analytics_db.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(parquet_dir, SHARED_DIR_MODE)  # analysts read it; it holds aggregates only
    staging_db = analytics_db.with_name(f".{analytics_db.name}.{uuid.uuid4().hex}.tmp")
    try:
        row_counts = _write_analytics_db(warehouse_db, staging_db, parquet_dir)
        os.chmod(staging_db, READ_ONLY_MODE)
        faults.reached("publish.before_swap")
        os.replace(staging_db, analytics_db)
    finally:
        for leftover in (staging_db, staging_db.with_name(staging_db.name + ".wal")):
            leftover.unlink(missing_ok=True)
    _remove_stale_parquet(parquet_dir, set(row_counts))
    return PublishResult(analytics_db=analytics_db, parquet_dir=parquet_dir, row_counts=row_counts)


def clean_leftovers(analytics_db: Path | None = None, parquet_dir: Path | None = None) -> int:
    """Remove what a killed publish left (staging copies named ``.*.tmp``); returns how many.

    They hold marts only (aggregates), so they are unlinked, not shredded. Call it while
    holding the command lock, so no running publish loses its staging file.
    """
    analytics_db = (analytics_db or analytics_db_path()).resolve()
    parquet_dir = (parquet_dir or default_parquet_dir(analytics_db)).resolve()
    removed = 0
    for folder, pattern in (
        (analytics_db.parent, f".{analytics_db.name}.*.tmp*"),
        (parquet_dir, ".*.parquet.*.tmp"),
    ):
        if folder.is_dir():
            for leftover in folder.glob(pattern):
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


def _write_analytics_db(warehouse_db: Path, staging_db: Path, parquet_dir: Path) -> dict[str, int]:
    """Build the new analyst database at ``staging_db``; return rows per mart."""
    con = duckdb.connect(str(staging_db))
    try:
        _attach_read_only(con, warehouse_db)
        marts = _mart_tables(con)
        if not marts:
            raise TinyTrackerError(
                f"the warehouse {warehouse_db} has no tables in schema {MARTS_SCHEMA}: "
                "build the marts first (tinytracker build)"
            )
        con.execute(f"create schema {MARTS_SCHEMA}")
        row_counts: dict[str, int] = {}
        for table, comment in marts:
            source = f"source_warehouse.{MARTS_SCHEMA}.{_quote(table)}"
            target = f"{MARTS_SCHEMA}.{_quote(table)}"
            con.execute(f"create table {target} as select * from {source}")
            _copy_comments(con, table, comment)
            row_counts[table] = scalar(con, f"select count(*) from {target}")
            _write_parquet(con, target, parquet_dir / f"{table}.parquet")
        con.execute("detach source_warehouse")
        con.execute("checkpoint")
    finally:
        con.close()
    return row_counts


def _attach_read_only(con: duckdb.DuckDBPyConnection, warehouse_db: Path) -> None:
    """Attach the warehouse read-only, waiting like :func:`warehouse.connect` while a load,
    build or retention run holds DuckDB's write lock."""
    wait_seconds = float(os.environ.get(warehouse.LOCK_WAIT_ENV, "10"))
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con.execute("attach ? as source_warehouse (read_only)", [str(warehouse_db)])
            return
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise TinyTrackerError(
                    f"cannot read the warehouse {warehouse_db} (waited {wait_seconds:.0f}s; is "
                    f"a load, build or retention run still writing?): {exc}"
                ) from exc
            time.sleep(0.5)


def _mart_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Base tables (not views) of the warehouse's marts schema, with their comments."""
    return con.execute(
        """
        select table_name, comment
        from duckdb_tables()
        where database_name = 'source_warehouse' and schema_name = ?
        order by table_name
        """,
        [MARTS_SCHEMA],
    ).fetchall()


def _copy_comments(con: duckdb.DuckDBPyConnection, table: str, comment: str | None) -> None:
    """Carry the dbt docs (persisted as comments in the warehouse) into the analyst file."""
    target = f"{MARTS_SCHEMA}.{_quote(table)}"
    if comment:
        con.execute(f"comment on table {target} is {_literal(comment)}")
    columns = con.execute(
        """
        select column_name, comment
        from duckdb_columns()
        where database_name = 'source_warehouse' and schema_name = ? and table_name = ?
            and comment is not null
        """,
        [MARTS_SCHEMA, table],
    ).fetchall()
    for column, column_comment in columns:
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(column_comment)}")


def _write_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    """Write one mart as Parquet, atomically replacing the previous file."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        con.execute(f"copy {table} to {_literal(str(staging))} (format parquet)")
        os.chmod(staging, READ_ONLY_MODE)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def _remove_stale_parquet(parquet_dir: Path, marts: set[str]) -> None:
    """Drop Parquet files of marts that no longer exist, so the folder mirrors the marts."""
    for path in parquet_dir.glob("*.parquet"):
        if path.stem not in marts:
            path.unlink()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
