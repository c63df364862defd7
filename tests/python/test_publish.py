"""Publishing the marts for analysts: only the marts, read-only, replaced in one step, each
closed period released once and never revised.

Each test builds a small stand-in warehouse with plain DuckDB (raw, staging and intermediate
relations beside two marts), so publishing is tested without a dbt build;
test_marts_school.py and test_marts_differencing.py publish real builds.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli import main as cli
from tinytracker.core.errors import TinyTrackerError
from tinytracker.publishing import release
from tinytracker.publishing.publish import (
    ANALYTICS_DB_ENV,
    analytics_db_path,
    default_parquet_dir,
    publish_marts,
)
from tinytracker.publishing.release import series_marker

MART_TABLES = {"fct_attendance_by_group", "fct_service_usage"}


def make_warehouse(
    path: Path, attendance_rate: float = 94.1, later_term: str | None = None
) -> Path:
    """A warehouse with personal data outside the marts and two documented marts: ORG1's
    autumn 2023 attendance (and, with ``later_term``, a row of that 2024/25 term)."""
    con = duckdb.connect(str(path))
    try:
        for schema in ("raw", "staging", "intermediate", "marts"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            "create or replace table raw.pupils as "
            "select 'P1' as pupil_id, 'B801200005001' as upn, 'Ada' as forename"
        )
        con.execute("create or replace view staging.stg_pupils as select * from raw.pupils")
        con.execute(
            "create or replace table intermediate.int_pupil_keys as "
            "select 'P1' as pupil_id, 'k-1' as pupil_key"
        )
        later = (
            f"union all select 'ORG1', '2024/25', '{later_term}', 'all', 15, 95.0, false"
            if later_term
            else ""
        )
        con.execute(
            "create or replace table marts.fct_attendance_by_group as "
            "select 'ORG1' as organisation_id, '2023/24' as academic_year, 'autumn' as term, "
            "'all' as group_type, 12 as pupil_count, "
            f"{attendance_rate}::double as attendance_rate, false as is_suppressed "
            f"union all select 'ORG1', '2023/24', 'autumn', 'fsm', null, null, true {later}"
        )
        con.execute("comment on table marts.fct_attendance_by_group is 'Attendance of groups.'")
        con.execute(
            "comment on column marts.fct_attendance_by_group.pupil_count is "
            "'Pupils the cell was computed from.'"
        )
        con.execute(
            "create or replace table marts.fct_service_usage as "
            "select '2024/25' as academic_year, 3 as organisation_count"
        )
        # a view in the marts schema is not a table: it must not be published
        con.execute("create or replace view marts.v_helper as select * from raw.pupils")
    finally:
        con.close()
    return path


@pytest.fixture()
def published(tmp_path: Path) -> dict[str, Path]:
    warehouse_db = make_warehouse(tmp_path / "warehouse.duckdb")
    analytics_db = tmp_path / "out" / "analytics.duckdb"
    result = publish_marts(warehouse_db, analytics_db)
    return {
        "warehouse": warehouse_db,
        "analytics": analytics_db,
        "parquet": result.parquet_dir,
        "root": tmp_path,
    }


def relations(db: Path) -> set[tuple[str, str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(
            con.execute(
                "select schema_name, table_name, 'table' from duckdb_tables() "
                "union all select schema_name, view_name, 'view' from duckdb_views() "
                "where not internal"
            ).fetchall()
        )
    finally:
        con.close()


def test_analyst_file_holds_only_the_mart_tables(published: dict[str, Path]) -> None:
    assert relations(published["analytics"]) == {("marts", name, "table") for name in MART_TABLES}


def test_analyst_file_opens_read_only_and_refuses_writes(published: dict[str, Path]) -> None:
    con = duckdb.connect(str(published["analytics"]), read_only=True)
    try:
        rows = con.execute(
            "select group_type, pupil_count, attendance_rate, is_suppressed "
            "from marts.fct_attendance_by_group order by group_type"
        ).fetchall()
        assert rows == [("all", 12, 94.1, False), ("fsm", None, None, True)]
        with pytest.raises(duckdb.Error):
            con.execute("insert into marts.fct_service_usage values ('2025/26', 1)")
        with pytest.raises(duckdb.Error):
            con.execute("create table marts.scratch as select 1 as x")
    finally:
        con.close()


def test_analyst_file_is_read_only_on_disk(published: dict[str, Path]) -> None:
    mode = stat.S_IMODE(published["analytics"].stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0


def test_table_and_column_docs_travel_with_the_marts(published: dict[str, Path]) -> None:
    con = duckdb.connect(str(published["analytics"]), read_only=True)
    try:
        table_comment = con.execute(
            "select comment from duckdb_tables() where table_name = 'fct_attendance_by_group'"
        ).fetchone()[0]
        column_comment = con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_attendance_by_group' "
            "and column_name = 'pupil_count'"
        ).fetchone()[0]
    finally:
        con.close()
    assert table_comment.startswith("Attendance of groups.\n\n")
    assert table_comment.endswith(series_marker())
    assert column_comment == "Pupils the cell was computed from."


def test_one_parquet_file_per_mart_beside_the_analyst_file(published: dict[str, Path]) -> None:
    parquet_dir = published["parquet"]
    assert parquet_dir == published["analytics"].parent / "analytics"
    assert {p.stem for p in parquet_dir.glob("*.parquet")} == MART_TABLES
    con = duckdb.connect()
    try:
        rows = con.execute(
            "select count(*) from read_parquet(?)",
            [str(parquet_dir / "fct_attendance_by_group.parquet")],
        ).fetchone()[0]
    finally:
        con.close()
    assert rows == 2


def test_no_temporary_files_are_left_behind(published: dict[str, Path]) -> None:
    names = {p.name for p in published["analytics"].parent.rglob("*")}
    assert not [n for n in names if n.endswith((".tmp", ".wal"))]


def test_republishing_replaces_the_file_while_a_reader_keeps_its_copy(
    published: dict[str, Path],
) -> None:
    reader = duckdb.connect(str(published["analytics"]), read_only=True)
    try:
        make_warehouse(published["warehouse"], later_term="autumn")
        publish_marts(published["warehouse"], published["analytics"])
        query = "select count(*) from marts.fct_attendance_by_group where group_type = 'all'"
        assert reader.execute(query).fetchone()[0] == 1
        # another process: within one process DuckDB shares one instance per file path
        fresh = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
                "print(con.execute(sys.argv[2]).fetchone()[0])",
                str(published["analytics"]),
                query,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert fresh.stdout.strip() == "2"
    finally:
        reader.close()


def attendance_rows(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select academic_year, term, group_type, pupil_count, attendance_rate "
            "from marts.fct_attendance_by_group order by all"
        ).fetchall()
    finally:
        con.close()


def test_a_released_partition_is_never_revised(published: dict[str, Path]) -> None:
    """Tonight's figures minus last night's would isolate whoever changed: a partition, once
    released, is copied unchanged whatever the warehouse holds now."""
    make_warehouse(published["warehouse"], attendance_rate=95.5)
    result = publish_marts(published["warehouse"], published["analytics"])
    assert ("2023/24", "autumn", "all", 12, 94.1) in attendance_rows(published["analytics"])
    assert result.released == {"fct_attendance_by_group": 0, "fct_service_usage": 0}


def test_an_open_period_is_not_published_until_it_has_settled(tmp_path: Path) -> None:
    warehouse_db = make_warehouse(tmp_path / "warehouse.duckdb", later_term="spring")
    analytics_db = tmp_path / "analytics.duckdb"
    # spring 2025 closes by 24 April; released 30 days later
    publish_marts(warehouse_db, analytics_db, as_of=dt.date(2025, 5, 23))
    assert [row[:2] for row in attendance_rows(analytics_db)] == [("2023/24", "autumn")] * 2
    result = publish_marts(warehouse_db, analytics_db, as_of=dt.date(2025, 5, 24))
    assert ("2024/25", "spring", "all", 15, 95.0) in attendance_rows(analytics_db)
    assert result.released["fct_attendance_by_group"] == 1


def test_a_new_series_releases_every_closed_period_from_the_current_marts(
    published: dict[str, Path],
) -> None:
    make_warehouse(published["warehouse"], attendance_rate=95.5)
    publish_marts(published["warehouse"], published["analytics"], new_series=True)
    assert ("2023/24", "autumn", "all", 12, 95.5) in attendance_rows(published["analytics"])


def test_a_new_release_series_releases_every_closed_period_again(
    published: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy made under other disclosure rules is not frozen: bumping the series (as the
    change that brought those rules does) releases the closed periods from today's marts."""
    make_warehouse(published["warehouse"], attendance_rate=95.5)
    monkeypatch.setattr(release, "RELEASE_SERIES", release.RELEASE_SERIES + 1)
    publish_marts(published["warehouse"], published["analytics"])
    assert ("2023/24", "autumn", "all", 12, 95.5) in attendance_rows(published["analytics"])


def test_a_mart_without_a_release_rule_is_refused(published: dict[str, Path]) -> None:
    con = duckdb.connect(str(published["warehouse"]))
    con.execute("create table marts.fct_new_mart as select '2023/24' as academic_year")
    con.close()
    with pytest.raises(TinyTrackerError, match="fct_new_mart has no release rule"):
        publish_marts(published["warehouse"], published["analytics"])


def test_a_dropped_mart_disappears_from_the_parquet_folder(published: dict[str, Path]) -> None:
    con = duckdb.connect(str(published["warehouse"]))
    con.execute("drop table marts.fct_service_usage")
    con.close()
    result = publish_marts(published["warehouse"], published["analytics"])
    assert result.tables == ("fct_attendance_by_group",)
    assert [p.stem for p in result.parquet_dir.glob("*.parquet")] == ["fct_attendance_by_group"]


def test_publishing_over_the_warehouse_is_refused(tmp_path: Path) -> None:
    warehouse_db = make_warehouse(tmp_path / "warehouse.duckdb")
    with pytest.raises(TinyTrackerError, match="is the warehouse itself"):
        publish_marts(warehouse_db, warehouse_db)


def test_a_warehouse_without_marts_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    warehouse_db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse_db)).close()
    analytics_db = tmp_path / "analytics.duckdb"
    with pytest.raises(TinyTrackerError, match="no tables in schema marts"):
        publish_marts(warehouse_db, analytics_db)
    assert not analytics_db.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_analyst_database_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ANALYTICS_DB_ENV, str(tmp_path / "shared" / "marts.duckdb"))
    assert analytics_db_path() == tmp_path / "shared" / "marts.duckdb"
    assert default_parquet_dir(analytics_db_path()) == tmp_path / "shared" / "analytics"
    monkeypatch.delenv(ANALYTICS_DB_ENV)
    assert analytics_db_path().parts[-2:] == ("warehouse", "analytics.duckdb")


def test_publish_command_reports_each_mart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse_db = make_warehouse(tmp_path / "warehouse.duckdb")
    analytics_db = tmp_path / "analytics.duckdb"
    exit_code = cli.main(
        ["publish", "--warehouse", str(warehouse_db), "--analytics-db", str(analytics_db)]
    )
    out = capsys.readouterr().out
    assert exit_code == 0
    assert "marts.fct_attendance_by_group" in out and "2 rows" in out
    assert os.access(analytics_db, os.F_OK)


def test_a_warehouse_locked_by_a_writer_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse_db = make_warehouse(tmp_path / "warehouse.duckdb")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', "
            "flush=True); time.sleep(60)",
            str(warehouse_db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        monkeypatch.setenv("TINYTRACKER_LOCK_WAIT_SECONDS", "0")
        with pytest.raises(TinyTrackerError, match="still writing"):
            publish_marts(warehouse_db, tmp_path / "analytics.duckdb")
    finally:
        writer.kill()
        writer.wait()
    assert not (tmp_path / "analytics.duckdb").exists()
