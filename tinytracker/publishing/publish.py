"""Publish the analytic marts, and nothing else, for analysts.

Analysts never open the warehouse: it holds raw pupil data and only one process may write to
it. After each build the tables of schema ``marts`` are copied into a separate DuckDB file
(env ``TINYTRACKER_ANALYTICS_DB``, default ``warehouse/analytics.duckdb``) that analysts open
read-only, and written as one Parquet file per mart beside it (``warehouse/analytics/``).
Only released partitions are copied (:mod:`tinytracker.publishing.release`): closed periods,
each frozen as first released, so that two nights' copies never differ by one pupil.

The new file is written beside the target under a temporary name and renamed over it in one
step, so a reader sees either the old file or the new one, never half of one (a process that
has the old file open keeps reading the old copy). The file is also made read-only on disk,
so opening it without ``read_only`` fails instead of taking a write lock. Table and column
comments (the dbt docs, persisted by ``persist_docs``) travel with the tables.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tinytracker.core import faults, paths, warehouse
from tinytracker.core.dates import london_today
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.warehouse import scalar
from tinytracker.publishing.release import (
    RELEASE_RULES,
    ReleaseRule,
    releasable_sql,
    same_partition_sql,
    series_marker,
)

ANALYTICS_DB_ENV = "TINYTRACKER_ANALYTICS_DB"
DEFAULT_ANALYTICS_DB = "warehouse/analytics.duckdb"
MARTS_SCHEMA = "marts"
PARQUET_DIR_NAME = "analytics"
READ_ONLY_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SHARED_DIR_MODE = 0o755


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote: the analyst database, the Parquet folder, rows per mart in the
    analyst copy, and per mart the partitions released by this publish (the rest were
    released earlier and copied unchanged, or are not released yet)."""

    analytics_db: Path
    parquet_dir: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    released: dict[str, int] = field(default_factory=dict)

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
    *,
    as_of: dt.date | None = None,
    new_series: bool = False,
) -> PublishResult:
    """Write a fresh analyst database and Parquet files: for every table of schema ``marts``,
    the partitions the previous analyst copy released, unchanged, and the partitions of the
    warehouse's marts that are released on ``as_of`` (default: today in London) for the
    first time. ``new_series`` ignores the previous copy, as a change of
    release.RELEASE_SERIES does: every closed period is released again from the current
    build.

    Raises :class:`TinyTrackerError` when the warehouse has no marts (nothing built yet), when
    a mart has no release rule, or when the analyst database would overwrite the warehouse.
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
    previous = None if new_series or not analytics_db.exists() else analytics_db
    staging_db = analytics_db.with_name(f".{analytics_db.name}.{uuid.uuid4().hex}.tmp")
    try:
        row_counts, released = _write_analytics_db(
            warehouse_db, staging_db, parquet_dir, previous, as_of or london_today()
        )
        os.chmod(staging_db, READ_ONLY_MODE)
        faults.reached("publish.before_swap")
        os.replace(staging_db, analytics_db)
    finally:
        for leftover in (staging_db, staging_db.with_name(staging_db.name + ".wal")):
            leftover.unlink(missing_ok=True)
    _remove_stale_parquet(parquet_dir, set(row_counts))
    return PublishResult(
        analytics_db=analytics_db,
        parquet_dir=parquet_dir,
        row_counts=row_counts,
        released=released,
    )


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


def _write_analytics_db(
    warehouse_db: Path,
    staging_db: Path,
    parquet_dir: Path,
    previous: Path | None,
    as_of: dt.date,
) -> tuple[dict[str, int], dict[str, int]]:
    """Build the new analyst database at ``staging_db``; return rows per mart and the
    partitions released for the first time per mart."""
    con = duckdb.connect(str(staging_db))
    try:
        _attach_read_only(con, warehouse_db)
        marts = _mart_tables(con)
        if not marts:
            raise TinyTrackerError(
                f"the warehouse {warehouse_db} has no tables in schema {MARTS_SCHEMA}: "
                "build the marts first (tinytracker build)"
            )
        if previous is not None:
            con.execute("attach ? as previous_release (read_only)", [str(previous)])
        con.execute(f"create schema {MARTS_SCHEMA}")
        row_counts: dict[str, int] = {}
        released: dict[str, int] = {}
        for table, comment in marts:
            rule = RELEASE_RULES.get(table)
            if rule is None:
                raise TinyTrackerError(
                    f"marts.{table} has no release rule: add its partition to "
                    "tinytracker.publishing.release.RELEASE_RULES before publishing it"
                )
            target = f"{MARTS_SCHEMA}.{_quote(table)}"
            frozen = previous is not None and _same_series(con, table)
            released[table] = _copy_released(con, table, rule, frozen, as_of)
            _copy_comments(con, table, comment)
            row_counts[table] = scalar(con, f"select count(*) from {target}")
            _write_parquet(con, target, parquet_dir / f"{table}.parquet")
        con.execute("detach source_warehouse")
        if previous is not None:
            con.execute("detach previous_release")
        con.execute("checkpoint")
    finally:
        con.close()
    return row_counts, released


def _copy_released(
    con: duckdb.DuckDBPyConnection, table: str, rule: ReleaseRule, frozen: bool, as_of: dt.date
) -> int:
    """Create the analyst copy of one mart: the previous copy's rows when ``frozen``, then
    the warehouse's rows of every partition released on ``as_of`` and not released before.
    Returns how many partitions were released now."""
    source = f"source_warehouse.{MARTS_SCHEMA}.{_quote(table)}"
    earlier = f"previous_release.{MARTS_SCHEMA}.{_quote(table)}"
    target = f"{MARTS_SCHEMA}.{_quote(table)}"
    partition = ", ".join(rule.partition)
    if frozen:
        con.execute(f"create table {target} as select * from {earlier}")
        not_released = (
            f"and not exists (select 1 from {earlier} as earlier "
            f"where {same_partition_sql(rule, 'earlier', 'fresh')})"
        )
    else:
        con.execute(f"create table {target} as select * from {source} limit 0")
        not_released = ""
    con.execute(
        f"create temporary table new_release as select fresh.* from {source} as fresh "
        f"where {releasable_sql(rule, 'fresh')} {not_released}",
        {"as_of": as_of},
    )
    count = int(scalar(con, f"select count(*) from (select distinct {partition} from new_release)"))
    con.execute(f"insert into {target} select * from new_release")
    con.execute("drop table new_release")
    return count


def _same_series(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the previous copy of ``table`` belongs to this release series (its comment
    ends with the series marker) and has the warehouse mart's columns and types. Otherwise
    the mart starts afresh: its closed periods are released again, once."""
    comment = con.execute(
        "select comment from duckdb_tables() "
        "where database_name = 'previous_release' and schema_name = ? and table_name = ?",
        [MARTS_SCHEMA, table],
    ).fetchone()
    if comment is None or not (comment[0] or "").endswith(series_marker()):
        return False
    query = """
        select column_name, data_type from duckdb_columns()
        where database_name = ? and schema_name = ? and table_name = ?
        order by column_index
    """
    columns = [
        con.execute(query, [database, MARTS_SCHEMA, table]).fetchall()
        for database in ("source_warehouse", "previous_release")
    ]
    return columns[0] == columns[1]


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
    """Carry the dbt docs (persisted as comments in the warehouse) into the analyst file; the
    table comment ends with the release series."""
    target = f"{MARTS_SCHEMA}.{_quote(table)}"
    described = f"{comment.rstrip()}\n\n{series_marker()}" if comment else series_marker()
    con.execute(f"comment on table {target} is {_literal(described)}")
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
