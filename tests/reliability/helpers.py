"""Shared steps of the reliability suite: run the CLI, copy and edit extracts, read the file."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

LONG = os.environ.get("TINYTRACKER_RELIABILITY") == "long"
"""The long form (``make reliability``): every fault point, more kills and corruptions."""

TT = [sys.executable, "-m", "tinytracker.cli.main"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as an operator runs it (environment of the test)."""
    return subprocess.run(
        [*TT, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def copy_extract(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def file_holds(path: Path, values: list[str]) -> list[str]:
    """Which of ``values`` appear in the file's bytes (any file: warehouse, WAL, copy)."""
    data = path.read_bytes()
    return [value for value in values if value.encode() in data]
