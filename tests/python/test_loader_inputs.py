"""Input that fails a whole load, and the one-transaction guarantee: nothing changes."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

import tinytracker.loading.run as loader_run
from orchestration.defs.landing import folders as landing_folders
from tinytracker.cli import main as cli
from tinytracker.core.errors import TinyTrackerError
from tinytracker.loading import load_extract

from extract_builder import ExtractBuilder, db, extract, query, snapshot  # noqa: F401 - fixtures


@pytest.fixture
def loaded(db: Path, extract: ExtractBuilder, tmp_path: Path) -> dict:
    """A warehouse with one earlier load in it, and its snapshot."""
    first = ExtractBuilder(tmp_path / "first")
    first.school(pupils=2, files=("attendance_sessions",))
    load_extract(first.write())
    return snapshot(db)


def fails_and_changes_nothing(db: Path, folder: Path, loaded: dict, *words: str) -> str:
    with pytest.raises(TinyTrackerError) as raised:
        load_extract(folder)
    message = str(raised.value)
    for word in words:
        assert word in message
    assert snapshot(db) == loaded
    return message


def test_a_missing_extract_folder_fails_naming_it(db: Path, loaded: dict, tmp_path: Path) -> None:
    folder = tmp_path / "no-such-extract"
    fails_and_changes_nothing(db, folder, loaded, str(folder), "not found")


def test_a_folder_without_landing_files_fails(db: Path, loaded: dict, tmp_path: Path) -> None:
    folder = tmp_path / "empty-extract"
    folder.mkdir()
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: the system's, not an extract's
    fails_and_changes_nothing(db, folder, loaded, str(folder), "no landing files")


def test_a_file_instead_of_a_folder_fails(db: Path, loaded: dict, tmp_path: Path) -> None:
    path = tmp_path / "pupils.csv"
    path.write_text("x\n")
    fails_and_changes_nothing(db, path, loaded, str(path), "not a folder")


def test_an_unknown_file_fails_the_whole_load(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw("students.csv", "organisation_id\nORG1\n")
    fails_and_changes_nothing(db, extract.folder, loaded, "students.csv", "unknown file")


@pytest.mark.parametrize(
    "name",
    [
        "pupils.csv.zip",
        "pupils.xlsx",
        "pupils.txt",
        "pupils",
        "README.txt",
        "attendance_sessions.csv.bz2",
    ],
)
def test_a_file_in_an_unsupported_format_fails_naming_it(
    db: Path, extract: ExtractBuilder, loaded: dict, name: str
) -> None:
    extract.school(pupils=3)
    extract.write()
    (extract.folder / "pupils.csv").rename(extract.folder / name)
    message = fails_and_changes_nothing(
        db, extract.folder, loaded, name, "unknown file", "<name>.csv.gz"
    )
    assert message.startswith(str(extract.folder / name))


def test_every_unknown_file_is_named_at_once(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw("notes.txt", "the rest comes tomorrow")
    (extract.folder / "old").mkdir()
    fails_and_changes_nothing(db, extract.folder, loaded, "notes.txt", "old/")


def test_hidden_files_and_the_ready_marker_are_not_part_of_the_extract(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw(".DS_Store", b"\0\0\0\1Bud1")
    extract.write_raw(".pupils.csv.swp", b"vim swap")
    extract.write_raw(landing_folders.READY_MARKER, b"")  # what the Dagster sensor waits for
    assert load_extract(extract.folder).file("pupils").inserted == 3


def test_gzip_compressed_csv_loads_like_the_plain_file(db: Path, extract: ExtractBuilder) -> None:
    extract.school(pupils=3, files=("attendance_sessions",))
    bad_line = extract.add("attendance_sessions", pupil_id="P2", mark="ZZ")
    extract.write()
    text = extract.csv_text("attendance_sessions") + "ORG1,P3,2024-09-0"  # truncated last line
    gz_path = extract.folder / "attendance_sessions.csv.gz"
    gz_path.write_bytes(gzip.compress(text.encode("utf-8")))
    (extract.folder / "attendance_sessions.csv").unlink()
    result = load_extract(extract.folder)

    attendance = result.file("attendance_sessions")
    assert attendance.file_name == "attendance_sessions.csv.gz"
    assert (attendance.read, attendance.inserted, attendance.quarantined) == (3, 1, 2)
    assert attendance.checksum == hashlib.sha256(gz_path.read_bytes()).hexdigest()
    assert query(
        db, "select file_name, line_number, rule from raw.quarantine order by line_number"
    ) == [
        ("attendance_sessions.csv.gz", bad_line, "unknown_code"),
        ("attendance_sessions.csv.gz", bad_line + 1, "malformed_row"),
    ]
    assert query(
        db, "select file_checksum from raw.load_log where file_name = 'attendance_sessions.csv.gz'"
    ) == [(attendance.checksum,)]


def test_a_gzip_file_that_does_not_decompress_fails_naming_it(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    data = gzip.compress(extract.csv_text("pupils").encode("utf-8"))
    (extract.folder / "pupils.csv").unlink()
    extract.write_raw("pupils.csv.gz", data[: len(data) // 2])
    fails_and_changes_nothing(db, extract.folder, loaded, "pupils.csv.gz", "not a readable gzip")


def test_a_gzip_file_of_nothing_is_an_empty_file(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw("sen_records.csv.gz", gzip.compress(b""))
    (extract.folder / "sen_records.csv").unlink()
    fails_and_changes_nothing(db, extract.folder, loaded, "sen_records.csv.gz", "empty file")


def test_mixed_line_endings_in_a_gzip_file_fail_naming_the_line(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    lines = extract.csv_text("pupils").splitlines()
    text = "\n".join(lines[:3]) + "\n\r\n" + lines[3] + "\n"
    (extract.folder / "pupils.csv").unlink()
    extract.write_raw("pupils.csv.gz", gzip.compress(text.encode("utf-8")))
    fails_and_changes_nothing(db, extract.folder, loaded, "pupils.csv.gz:4:", "line endings")


def test_the_same_file_twice_in_two_formats_fails(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw("pupils.parquet", b"PAR1")
    fails_and_changes_nothing(db, extract.folder, loaded, "pupils.parquet", "two files")


def test_a_header_missing_a_contract_column_fails_naming_the_column(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    text = extract.csv_text("employees").replace("teaching_status,", "status,", 1)
    extract.write_raw("employees.csv", text)
    message = fails_and_changes_nothing(
        db, extract.folder, loaded, "employees.csv:1:", "wrong header", "teaching_status"
    )
    assert "status," not in message.split("missing")[0]


def test_a_header_naming_a_column_twice_fails(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school()
    extract.write()
    text = extract.csv_text("reports").replace("title", "title,title", 1)
    extract.write_raw("reports.csv", text)
    fails_and_changes_nothing(db, extract.folder, loaded, "reports.csv:1:", "title")


def test_a_header_using_the_loaders_reserved_names_fails(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.add("organisations", __s_name="x")
    fails_and_changes_nothing(db, extract.write(), loaded, "organisations.csv:1:", "__s_name")


def test_a_file_that_is_not_utf8_fails_naming_the_line(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    text = extract.csv_text("pupils").replace("Lovelace", "Lövelace", 2)
    extract.write_raw("pupils.csv", text.encode("latin-1"))
    fails_and_changes_nothing(db, extract.folder, loaded, "pupils.csv:2:", "not UTF-8")


def test_a_non_utf8_byte_far_into_a_file_is_found_on_its_line(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=1)
    for n in range(2, 30_002):
        extract.add("attendance_sessions", pupil_id=f"P{n}")
    extract.write()
    data = (extract.folder / "attendance_sessions.csv").read_bytes()
    lines = data.split(b"\n")
    lines[25_000] = lines[25_000].replace(b"ORG1", b"ORG\xe9")
    extract.write_raw("attendance_sessions.csv", b"\n".join(lines))
    fails_and_changes_nothing(db, extract.folder, loaded, "attendance_sessions.csv:25001:")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ("empty file (0 bytes)",)),
        (b"\n\n", ("no header row",)),
        (b"\norganisation_id,pupil_id\n", ("line 1 is blank",)),
    ],
)
def test_an_empty_file_fails_the_whole_load(
    db: Path, extract: ExtractBuilder, loaded: dict, content: bytes, words: tuple[str, ...]
) -> None:
    extract.school(pupils=3)
    extract.write()
    extract.write_raw("sen_records.csv", content)
    fails_and_changes_nothing(db, extract.folder, loaded, "sen_records.csv", *words)


def test_a_file_with_a_header_and_no_rows_loads_nothing_from_it(
    db: Path, extract: ExtractBuilder
) -> None:
    extract.school(pupils=2)
    extract.write()
    extract.write_raw("reports.csv", extract.csv_text("reports").splitlines()[0] + "\n")
    result = load_extract(extract.folder)
    assert result.file("reports").read == 0
    assert result.file("pupils").inserted == 2


def test_mixed_line_endings_fail_naming_the_line(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=3)
    extract.write()
    lines = extract.csv_text("pupils").splitlines()
    extract.write_raw("pupils.csv", "\n".join(lines[:3]) + "\n\r\n" + lines[3] + "\n")
    fails_and_changes_nothing(db, extract.folder, loaded, "pupils.csv:4:", "line endings")


def test_a_failure_after_some_files_are_written_rolls_everything_back(
    db: Path, extract: ExtractBuilder, loaded: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    newer = ExtractBuilder(tmp_path / "newer")
    newer.school(pupils=4)
    newer.rows["pupils"][0]["surname"] = "Changed"
    real_upsert = loader_run.upsert

    def failing_upsert(con, landing_file, *args, **kwargs):
        if landing_file.name == "reports":
            raise RuntimeError("disk full (injected)")
        return real_upsert(con, landing_file, *args, **kwargs)

    monkeypatch.setattr(loader_run, "upsert", failing_upsert)
    with pytest.raises(RuntimeError, match="injected"):
        load_extract(newer.write())
    assert snapshot(db) == loaded
    monkeypatch.setattr(loader_run, "upsert", real_upsert)
    result = load_extract(newer.folder, db)  # the warehouse is usable and loads normally after
    assert result.file("pupils").updated == 1


def test_an_unreadable_file_late_in_the_order_rolls_everything_back(
    db: Path, extract: ExtractBuilder, loaded: dict
) -> None:
    extract.school(pupils=4)
    extract.rows["pupils"][0]["surname"] = "Changed"
    extract.write()
    (extract.folder / "setup_imports.csv").unlink()
    extract.write_raw("setup_imports.parquet", b"PAR1" + b"\0" * 64 + b"PAR1")
    fails_and_changes_nothing(db, extract.folder, loaded, "setup_imports.parquet")


def test_a_failed_load_on_a_fresh_warehouse_leaves_no_tables(
    db: Path, extract: ExtractBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    extract.school()
    monkeypatch.setattr(
        loader_run, "upsert", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected"))
    )
    with pytest.raises(RuntimeError):
        load_extract(extract.write())
    assert snapshot(db) == {}


def test_the_cli_prints_a_whole_load_failure_as_one_line(
    db: Path, extract: ExtractBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extract.school()
    extract.write()
    extract.write_raw("pupils.csv", b"")
    code = cli.main(["load", str(extract.folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0
    assert err.startswith("tinytracker load: error: ") and "pupils.csv" in err
