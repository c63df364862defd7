"""Find and check the files of one extract folder before anything touches the warehouse.

Everything that fails a whole load for a reason the sender can fix (no folder, a file that is
not part of the contract, a wrong header, an empty or mis-encoded file) is found here, so the
error names the file (and line) and the warehouse is never opened for writing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from tinytracker.core.contract import FILES_BY_NAME, LANDING_FILES, LandingFile
from tinytracker.core.errors import TinyTrackerError
from tinytracker.loading.scan import CsvScan, file_checksum, is_gzip, open_csv_bytes, scan_csv
from tinytracker.loading.sqltext import literal

FileFormat = Literal["csv", "parquet"]
SUFFIXES: dict[str, FileFormat] = {".csv.gz": "csv", ".csv": "csv", ".parquet": "parquet"}
"""The formats a landing file may arrive in (matched case-insensitively, longest first)."""
SUPPORTED_NAMES = "<name>.csv, <name>.csv.gz (gzip-compressed CSV) or <name>.parquet"
HIDDEN_PREFIX = "."
"""Hidden entries (``.DS_Store``, editor and sync files) are the system's, not the sender's."""
READY_MARKER = "_READY"
"""The empty file a delivery puts into a landing folder when its copy has finished (the Dagster
sensor waits for it, orchestration/defs/landing/folders.py): part of the landing protocol."""
HEADER_PEEK_BYTES = 1024 * 1024
RESERVED_PREFIX = "__"
"""Staging columns are named ``__s_<column>``, ``__tt_...``: an extract may not use them."""


@dataclass(frozen=True)
class ExtractFile:
    """One landing file of the extract, checked and ready to stage."""

    contract: LandingFile
    path: Path
    format: FileFormat
    header: tuple[str, ...]
    """Column names as the file gives them (contract columns and any extras)."""
    checksum: str
    scan: CsvScan | None = None
    """Line bookkeeping for CSV files (None for Parquet)."""

    @property
    def name(self) -> str:
        return self.contract.name

    @property
    def display_name(self) -> str:
        return self.path.name

    @property
    def compressed(self) -> bool:
        """A ``.csv.gz`` file (DuckDB decompresses it while reading)."""
        return is_gzip(self.path)

    @property
    def extra_columns(self) -> tuple[str, ...]:
        contract_columns = set(self.contract.column_names)
        return tuple(c for c in self.header if c not in contract_columns)


def discover_extract(folder: Path) -> list[ExtractFile]:
    """The extract's landing files in contract order (organisations first, then pupils...).

    Raises :class:`TinyTrackerError` for anything that must fail the whole load.
    """
    if not folder.exists():
        raise TinyTrackerError("extract folder not found", file=str(folder))
    if not folder.is_dir():
        raise TinyTrackerError("not a folder: give the extract's folder", file=str(folder))
    found: dict[str, Path] = {}
    unknown: list[Path] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(HIDDEN_PREFIX) or entry.name == READY_MARKER:
            continue
        stem = landing_stem(entry.name)
        if stem is None or not entry.is_file():
            unknown.append(entry)
            continue
        if stem in found:
            raise TinyTrackerError(
                f"two files for '{stem}' ({found[stem].name} and {entry.name}): keep one; "
                "nothing was loaded",
                file=str(entry),
            )
        found[stem] = entry
    if unknown:
        expected = ", ".join(f.name for f in LANDING_FILES)
        names = ", ".join(entry.name + ("/" if entry.is_dir() else "") for entry in unknown)
        raise TinyTrackerError(
            f"unknown file(s) in the extract folder: {names}. An extract holds only landing "
            f"files, each named {SUPPORTED_NAMES}, for: {expected}; move anything else out "
            "of the folder. Nothing was loaded",
            file=str(unknown[0]),
        )
    if not found:
        raise TinyTrackerError(
            f"no landing files ({SUPPORTED_NAMES}) in the extract folder; nothing was loaded",
            file=str(folder),
        )
    return [
        _check_file(landing_file, found[landing_file.name])
        for landing_file in LANDING_FILES
        if landing_file.name in found
    ]


def landing_stem(file_name: str) -> str | None:
    """The landing file a name stands for (``pupils.csv.gz`` -> ``pupils``), or None."""
    lowered = file_name.lower()
    for suffix in SUFFIXES:
        if lowered.endswith(suffix):
            stem = file_name[: -len(suffix)]
            return stem if stem in FILES_BY_NAME else None
    return None


def _file_format(path: Path) -> FileFormat:
    lowered = path.name.lower()
    return next(f for suffix, f in SUFFIXES.items() if lowered.endswith(suffix))


def _check_file(landing_file: LandingFile, path: Path) -> ExtractFile:
    if path.stat().st_size == 0:
        raise TinyTrackerError(
            "empty file (0 bytes): a landing file needs at least its header row; "
            "nothing was loaded",
            file=str(path),
        )
    if _file_format(path) == "parquet":
        header = _parquet_header(path)
        _check_header(landing_file, header, path)
        return ExtractFile(landing_file, path, "parquet", header, file_checksum(path))
    scan = scan_csv(path, str(path))
    if scan.size == 0:
        raise TinyTrackerError(
            "empty file (0 bytes once decompressed): a landing file needs at least its header "
            "row; nothing was loaded",
            file=str(path),
        )
    header = _csv_header(path)
    _check_header(landing_file, header, path)
    return ExtractFile(landing_file, path, "csv", header, scan.checksum, scan)


def _csv_header(path: Path) -> tuple[str, ...]:
    """Column names from line 1 (a UTF-8 byte-order mark is allowed)."""
    with open_csv_bytes(path) as handle:
        first = handle.readline(HEADER_PEEK_BYTES)
        rest_blank = first.strip() == b"" and handle.read(HEADER_PEEK_BYTES).strip() == b""
    if first.strip() == b"":
        reason = "no header row (the file is blank)" if rest_blank else "line 1 is blank"
        raise TinyTrackerError(
            f"{reason}: a landing file starts with its header row; nothing was loaded",
            file=str(path),
            line=1,
        )
    text = first.decode("utf-8-sig").rstrip("\r\n")  # scan_csv has checked the encoding
    if "\r" in text:
        raise TinyTrackerError(
            "its lines end in a carriage return alone (the old Mac format), so the whole file "
            "reads as one line; save it with \\n or \\r\\n line endings. Nothing was loaded",
            file=str(path),
            line=1,
            rule="malformed_row",
        )
    try:
        names = next(csv.reader([text]))
    except csv.Error as exc:
        raise TinyTrackerError(
            f"the header row cannot be read as CSV ({exc}); nothing was loaded",
            file=str(path),
            line=1,
            rule="malformed_row",
        ) from None
    return tuple(name.strip() for name in names)


def _parquet_header(path: Path) -> tuple[str, ...]:
    try:
        with duckdb.connect() as con:
            rows = con.execute(
                f"describe select * from read_parquet({literal(str(path))})"
            ).fetchall()
    except duckdb.Error as exc:
        raise TinyTrackerError(
            f"not a readable Parquet file ({exc}); nothing was loaded", file=str(path)
        ) from exc
    return tuple(str(row[0]) for row in rows)


def _check_header(landing_file: LandingFile, header: tuple[str, ...], path: Path) -> None:
    if any(name == "" for name in header):
        position = header.index("") + 1
        raise TinyTrackerError(
            f"wrong header: column {position} has no name; nothing was loaded",
            file=str(path),
            line=1,
        )
    reserved = [name for name in header if name.startswith(RESERVED_PREFIX)]
    if reserved:
        raise TinyTrackerError(
            f"wrong header: column names starting with {RESERVED_PREFIX} are reserved for the "
            f"loader's own bookkeeping: {', '.join(reserved)}; nothing was loaded",
            file=str(path),
            line=1,
        )
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise TinyTrackerError(
            f"wrong header: column(s) named twice: {', '.join(duplicates)}; nothing was loaded",
            file=str(path),
            line=1,
        )
    missing = [name for name in landing_file.column_names if name not in header]
    if missing:
        raise TinyTrackerError(
            f"wrong header: missing contract column(s) {', '.join(missing)} (the contract for "
            f"{landing_file.name} is: {', '.join(landing_file.column_names)}); "
            "nothing was loaded",
            file=str(path),
            line=1,
        )
