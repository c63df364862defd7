"""Loader behaviour: idempotent upserts, the load log, the CLI's summary, Parquet like CSV."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli import main as cli
from tinytracker.core.contract import LANDING_FILES
from tinytracker.loading import load_extract
from tinytracker.loading import upsert as upsert_module

from extract_builder import ExtractBuilder, counts, db, extract, query, raw_tables  # noqa: F401 - fixtures


def test_reload_of_same_extract_changes_nothing(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=3)
    extract.add("attendance_sessions", pupil_id="P9")  # quarantined both times
    folder = extract.write()
    first = load_extract(folder)
    before = raw_tables(db)

    second = load_extract(folder)

    assert raw_tables(db) == before
    assert second.total("inserted") == second.total("updated") == 0
    assert second.total("unchanged") == first.total("inserted") > 0
    assert counts(second, "pupils") == (3, 0, 0, 3, 0, 0, 0)
    assert counts(second, "attendance_sessions") == (2, 0, 0, 1, 1, 0, 0)
    loads = query(db, "select distinct _load_id from raw.pupils")
    assert loads == [(first.load_id,)]


def test_newer_extract_updates_changed_rows_and_keeps_absent_ones(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3)
    first = load_extract(extract.write())

    newer = ExtractBuilder(tmp_path / "newer")
    newer.add("pupils", pupil_id="P1", upn="B801200005001", surname="Byron")  # changed
    newer.add("pupils", pupil_id="P2", upn="H801200001001")  # unchanged
    newer.add("pupils", pupil_id="P4", upn="A950000178301")  # new
    second = load_extract(newer.write())

    assert second.file("pupils").inserted == 1
    rows = dict(query(db, "select pupil_id, surname from raw.pupils"))
    assert rows == {"P1": "Byron", "P2": "Lovelace", "P3": "Lovelace", "P4": "Lovelace"}
    load_ids = dict(query(db, "select pupil_id, _load_id from raw.pupils"))
    assert load_ids["P1"] == load_ids["P4"] == second.load_id
    assert load_ids["P3"] == first.load_id  # absent from the newer extract: kept as it was
    assert query(db, "select count(*) from raw.attendance_sessions")[0][0] == 1


def test_update_counts_split_inserted_updated_unchanged(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3, files=())
    load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=4, files=())
    newer.rows["pupils"][0]["forename"] = "Augusta"
    result = load_extract(newer.write())
    assert counts(result, "pupils") == (4, 1, 1, 2, 0, 0, 0)


def test_a_load_never_overwrites_the_anonymisation_columns(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=2, files=("employees",))
    load_extract(extract.write())
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update raw.pupils set anonymised_on = date '2025-09-01', "
            "anonymised_by_rule_id = 'left_pupils_2_academic_years' where pupil_id = 'P2'"
        )
        con.execute("update raw.employees set anonymised_on = date '2025-09-01' ")

    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=2, files=("employees",))
    newer.rows["pupils"][1]["surname"] = "Changed"
    newer.rows["employees"][0]["surname"] = "Changed"
    load_extract(newer.write())

    assert query(
        db,
        "select surname, anonymised_on, anonymised_by_rule_id from raw.pupils "
        "where pupil_id = 'P2'",
    ) == [("Changed", dt.date(2025, 9, 1), "left_pupils_2_academic_years")]
    assert query(db, "select count(*) from raw.employees where anonymised_on is null") == [(0,)]


def test_large_files_merge_in_organisation_batches_with_the_same_result(
    db: Path, extract: ExtractBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert_module, "MERGE_BATCH_ROWS", 1)  # every organisation a batch
    extract.school("ORG1", pupils=3, files=())
    extract.school("ORG2", pupils=2, files=())
    extract.school("ORG3", pupils=1, files=())
    first = load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school("ORG1", pupils=4, files=())
    newer.school("ORG2", pupils=2, files=())
    newer.rows["pupils"][5]["surname"] = "Changed"  # ORG2's P2
    second = load_extract(newer.write())

    assert counts(first, "pupils") == (6, 6, 0, 0, 0, 0, 0)
    assert counts(second, "pupils") == (6, 1, 1, 4, 0, 0, 0)
    assert query(
        db, "select organisation_id, pupil_id from raw.pupils where surname = 'Changed'"
    ) == [("ORG2", "P2")]
    assert query(db, "select count(*) from raw.pupils") == [(7,)]


def test_load_log_has_one_row_per_file_with_checksum_and_counts(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(pupils=2)
    extract.add("pupils", pupil_id="P9", gender="X")
    folder = extract.write()
    result = load_extract(folder)

    rows = query(
        db,
        "select load_id, extract_path, file_name, file_checksum, rows_read, "
        "rows_inserted, rows_updated, rows_unchanged, rows_quarantined, "
        "rows_refused, rows_suppressed, status from raw.load_log "
        "order by file_name",
    )
    assert len(rows) == len(LANDING_FILES)
    pupils = next(r for r in rows if r[2] == "pupils.csv")
    digest = hashlib.sha256((folder / "pupils.csv").read_bytes()).hexdigest()
    assert pupils == (
        result.load_id,
        str(folder.resolve()),
        "pupils.csv",
        digest,
        3,
        2,
        0,
        0,
        1,
        0,
        0,
        "partially_loaded",
    )
    assert {r[11] for r in rows if r[2] != "pupils.csv"} == {"loaded"}


def test_a_reload_of_the_same_files_adds_no_quarantine_rows(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school(pupils=3)
    extract.add("attendance_sessions", pupil_id="P9")  # orphan
    extract.write()
    extract.write_raw("pupils.csv", extract.csv_text("pupils") + "ORG1,P4,B80120000")  # cut short
    first = load_extract(extract.folder)
    quarantined = query(db, "select * from raw.quarantine order by file_name, line_number")
    assert [(r[1], r[3], r[0]) for r in quarantined] == [
        ("attendance_sessions.csv", "orphan_pupil", first.load_id),
        ("pupils.csv", "malformed_row", first.load_id),
    ]

    assert cli.main(["load", str(extract.folder)]) == 0

    assert query(db, "select * from raw.quarantine order by file_name, line_number") == quarantined
    out = capsys.readouterr().out
    assert "2 row(s) quarantined (not loaded):" in out
    assert "2 of them were already in raw.quarantine from an earlier load" in out
    assert f"where load_id = '{first.load_id}' order by" in out
    # the load log still counts them as quarantined in the second load
    assert query(
        db,
        "select file_name, rows_quarantined from raw.load_log "
        "where rows_quarantined > 0 and load_id <> ? order by 1",
        [first.load_id],
    ) == [("attendance_sessions.csv", 1), ("pupils.csv", 1)]


def test_a_changed_file_quarantines_its_bad_rows_under_the_new_load(
    db: Path, extract: ExtractBuilder, tmp_path: Path
) -> None:
    extract.school(pupils=3, files=("attendance_sessions",))
    extract.add("attendance_sessions", pupil_id="P9")
    first = load_extract(extract.write())
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=3, files=("attendance_sessions",))
    newer.add("attendance_sessions", pupil_id="P9")
    newer.add("attendance_sessions", pupil_id="P2")  # the file's bytes differ
    second = load_extract(newer.write())

    assert second.file("attendance_sessions").already_quarantined == 0
    assert sorted(query(db, "select load_id, line_number, rule from raw.quarantine")) == sorted(
        [(first.load_id, 3, "orphan_pupil"), (second.load_id, 3, "orphan_pupil")]
    )


def test_the_cli_prints_a_table_a_total_and_how_to_see_the_quarantine(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school(pupils=2)
    extract.add("attendance_sessions", mark="??", pupil_id="P2")
    code = cli.main(["load", str(extract.write())])

    out = capsys.readouterr().out
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("file"))
    assert header.split() == [
        "file",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "quarantined",
        "refused",
        "suppressed",
    ]
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert table["attendance_sessions.csv"] == ["2", "1", "0", "0", "1", "0", "0"]
    assert table["total"] == ["12", "11", "0", "0", "1", "0", "0"]
    load_id = query(db, "select distinct load_id from raw.quarantine")[0][0]
    assert f"select * from raw.quarantine where load_id = '{load_id}'" in out


def test_load_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["load", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "DIR" in out and "quarantine" in out and "transaction" in out
    assert "truncated last line" in out and "malformed_row" in out
    assert "<name>.csv.gz" in out and "unknown file" in out


def test_parquet_files_load_like_csv(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=2, files=("attendance_sessions",))
    extract.add("attendance_sessions", pupil_id="P2", mark="ZZ")
    folder = extract.write()
    csv_path = folder / "attendance_sessions.csv"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_csv('{csv_path}', all_varchar = true)) "
            f"to '{folder / 'attendance_sessions.parquet'}' (format parquet)"
        )
    csv_path.unlink()
    result = load_extract(folder)

    assert result.file("attendance_sessions").file_name == "attendance_sessions.parquet"
    assert counts(result, "attendance_sessions") == (2, 1, 0, 0, 1, 0, 0)
    assert query(db, "select file_name, line_number, rule from raw.quarantine") == [
        ("attendance_sessions.parquet", 2, "unknown_code")
    ]


def test_typed_parquet_columns_are_read_as_their_text(db: Path, extract: ExtractBuilder) -> None:
    folder = extract.folder
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'ORG1' as organisation_id, 'Oak' as name, 'school' as "
            "organisation_type, null as trust_id, date '2020-09-01' as contract_start, "
            "null::date as contract_end, null::date as anonymise_requested_on, "
            "'granted' as mis_permission, true as share_with_trust, 7 as house_points) "
            f"to '{folder / 'organisations.parquet'}' (format parquet)"
        )
    load_extract(folder)
    assert query(
        db,
        "select contract_start, share_with_trust, _extra->>'house_points' from raw.organisations",
    ) == [(dt.date(2020, 9, 1), True, "7")]
