"""Why an erased value found in the rewritten file's bytes may still be no copy of it.

The byte scan after an erasure (:mod:`tinytracker.core.bytescan`) reports every erased value
whose bytes occur anywhere in the file. A few occurrences are not the value being kept:

1. a row still in ``raw.*`` holds it lawfully (a setup-import row kept by
   ``--keep-setup-imports``, another person's identical phone or address);
2. its digits sit inside random or keyed ids: every occurrence lies in a run of hex digits and
   dashes at least as long as a UUID (a 7-digit teacher number inside a surrogate UUID, across
   two UUIDs stored side by side, or inside a 64-hex suppression token: all three met at
   10,000-30,000 pupils);
3. it straddles two strings stored side by side: DuckDB keeps a column's strings back to back
   with their lengths elsewhere, so ``...mistry@icloud.com`` followed by a kept
   ``duncan49@outlook.com`` reads ``mduncan49@outlook.com`` in the bytes. Found at 10,000
   pupils (bench, 2026-12-06): with tens of thousands of erased emails, one of them is a kept
   email with a letter before it.

Anything else (a copy in a derived table, a value whole in a column where the pieces do not
explain it) is a leak and fails the run. The limit of rule 3: a real copy of a value that is
also exactly "the end of one kept string + another whole kept string" of one column cannot be
told apart from the coincidence by bytes alone (docs/reliability.md).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable
from pathlib import Path

import duckdb

from tinytracker.core.warehouse import connect

ID_CHARACTERS = frozenset(b"0123456789abcdef-")
MIN_ID_RUN = 32
"""A run of hex digits and dashes this long is ids or tokens (a UUID is 36, a token 64), not a
number someone typed."""
MIN_WHOLE_PIECE = 3
"""The kept string that explains most of a straddling match is a real value, not one letter."""


def explained_without_a_copy(db: Path, values: list[str]) -> set[str]:
    """Which of ``values`` (the few a byte scan found in ``db`` or its WAL) rules 1-3 above
    explain. A handful of queries per value over the text columns and one look at the bytes
    around each occurrence: never called for the values the scan did not find."""
    if not values:
        return set()
    files = [p for p in (db, db.with_name(db.name + ".wal")) if p.exists() and p.stat().st_size]
    con = connect(db, read_only=True)
    try:
        columns = text_columns(con)
        return {
            value
            for value in values
            if held_in_raw(con, columns, value)
            or only_inside_ids(files, value)
            or straddles(con, columns, value)
        }
    finally:
        con.close()


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "select c.schema_name, c.table_name, c.column_name from duckdb_columns() as c "
        "inner join duckdb_tables() as t on t.database_name = c.database_name "
        "and t.schema_name = c.schema_name and t.table_name = c.table_name "
        "where c.data_type in ('VARCHAR', 'JSON')"
    ).fetchall()


def held_in_raw(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str, str]], value: str
) -> bool:
    """Rule 1: a row still in ``raw.*`` holds it in a text column."""
    tests = " union all ".join(
        f'select 1 from "{schema}"."{table}" where contains(cast("{column}" as varchar), $value)'
        for schema, table, column in columns
        if schema == "raw"
    )
    if not tests:
        return False
    return bool(con.execute(f"select exists ({tests})", {"value": value}).fetchall()[0][0])


def only_inside_ids(files: Iterable[Path], value: str) -> bool:
    """Rule 2: the value occurs, and each occurrence is inside a long run of id characters."""
    needle = value.encode()
    if not needle or any(byte not in ID_CHARACTERS for byte in needle):
        return False
    seen = False
    for path in files:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            at = data.find(needle)
            while at != -1:
                seen = True
                start, end = at, at + len(needle)
                while start > 0 and data[start - 1] in ID_CHARACTERS:
                    start -= 1
                while end < len(data) and data[end] in ID_CHARACTERS:
                    end += 1
                if end - start < MIN_ID_RUN:
                    return False
                at = data.find(needle, at + 1)
    return seen


def straddles(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str, str]], value: str
) -> bool:
    """Rule 3: for some split ``value = head + tail``, one column holds ``tail`` whole and
    another string ending with ``head``, or ``head`` whole and another starting with ``tail``."""
    pieces = [value[k:] for k in range(1, len(value))] + [value[:k] for k in range(1, len(value))]
    pieces = [piece for piece in pieces if len(piece) >= MIN_WHOLE_PIECE]
    if not pieces:
        return False
    # one pass: which columns hold one of the pieces whole (an equality join, cheap at any size)
    wholes = con.execute(
        " union all ".join(
            f'select distinct {index} as col, cast("{column}" as varchar) as piece '
            f'from "{schema}"."{table}" where cast("{column}" as varchar) in '
            "(select unnest($pieces))"
            for index, (schema, table, column) in enumerate(columns)
        ),
        {"pieces": pieces},
    ).fetchall()
    for index, whole in wholes:
        schema, table, column = columns[index]
        text = f'cast("{column}" as varchar)'
        tests = []
        if value.endswith(whole):  # the kept string before it ends with the rest
            tests.append((f"ends_with({text}, $rest)", value[: len(value) - len(whole)]))
        if value.startswith(whole):  # the kept string after it starts with the rest
            tests.append((f"starts_with({text}, $rest)", value[len(whole) :]))
        for test, rest in tests:  # another string: one cannot stand beside itself
            query = (
                f'select exists (select 1 from "{schema}"."{table}" where {test} '
                f"and {text} <> $whole)"
            )
            if con.execute(query, {"rest": rest, "whole": whole}).fetchall()[0][0]:
                return True
    return False
