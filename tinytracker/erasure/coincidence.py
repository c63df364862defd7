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

Set-based, because the found values grow with the trust: a 7-digit number occurs by chance in
enough random hex that at a million pupils nearly every erased teacher number is found. Rule 2
is one more pass over the file for all of them, rule 1 one pass over each raw text column's
distinct values, rule 3 one equality join per text column; only what survives goes on.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import duckdb
from ahocorasick_rs import BytesAhoCorasick

from tinytracker.core.bytescan import values_found_outside
from tinytracker.core.warehouse import connect

ID_CHARACTERS = frozenset(b"0123456789abcdef-")
MIN_ID_RUN = 32
"""A run of hex digits and dashes this long is ids or tokens (a UUID is 36, a token 64), not a
number someone typed."""
MIN_WHOLE_PIECE = 3
"""The kept string that explains most of a straddling match is a real value, not one letter."""

Column = tuple[str, str, str]


def explained_without_a_copy(db: Path, values: list[str]) -> set[str]:
    """Which of ``values`` (those a byte scan found in ``db`` or its WAL) rules 1-3 explain."""
    if not values:
        return set()
    files = [p for p in (db, db.with_name(db.name + ".wal")) if p.exists() and p.stat().st_size]
    hex_shaped = [value for value in values if set(value.encode()) <= ID_CHARACTERS]
    explained = set(hex_shaped) - values_found_outside(files, hex_shaped, inside_an_id_run)
    con = connect(db, read_only=True)
    try:
        columns = text_columns(con)
        rest = [value for value in values if value not in explained]
        explained |= held_in_raw(con, [c for c in columns if c[0] == "raw"], rest)
        rest = [value for value in rest if value not in explained]
        explained |= straddling(con, columns, rest)
        return explained
    finally:
        con.close()


def text_columns(con: duckdb.DuckDBPyConnection) -> list[Column]:
    return con.execute(
        "select c.schema_name, c.table_name, c.column_name from duckdb_columns() as c "
        "inner join duckdb_tables() as t on t.database_name = c.database_name "
        "and t.schema_name = c.schema_name and t.table_name = c.table_name "
        "where c.data_type in ('VARCHAR', 'JSON')"
    ).fetchall()


def inside_an_id_run(data: mmap.mmap, start: int, end: int) -> bool:
    """Rule 2 for one occurrence: hex digits and dashes around it make a run of MIN_ID_RUN."""
    while start > 0 and end - start < MIN_ID_RUN and data[start - 1] in ID_CHARACTERS:
        start -= 1
    while end < len(data) and end - start < MIN_ID_RUN and data[end] in ID_CHARACTERS:
        end += 1
    return end - start >= MIN_ID_RUN


def held_in_raw(
    con: duckdb.DuckDBPyConnection, columns: list[Column], values: list[str]
) -> set[str]:
    """Rule 1: the values some row still in ``raw.*`` holds in a text column (whole or inside a
    longer text): one Aho-Corasick pass over each column's distinct values."""
    if not values:
        return set()
    automaton = BytesAhoCorasick([value.encode() for value in values])
    held: set[str] = set()
    for schema, table, column in columns:
        kept = con.execute(
            f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" '
            f'where "{column}" is not null'
        ).fetchall()
        blob = b"\x00".join(text.encode() for (text,) in kept)  # no value holds a NUL
        held.update(
            values[i] for i, _, _ in automaton.find_matches_as_indexes(blob, overlapping=True)
        )
        if len(held) == len(values):
            break
    return held


def straddling(
    con: duckdb.DuckDBPyConnection, columns: list[Column], values: list[str]
) -> set[str]:
    """Rule 3: for some split ``value = head + tail``, one column holds ``tail`` whole and
    another string ending with ``head``, or ``head`` whole and another starting with ``tail``."""
    splits = [
        (value, value[k:], value[:k], "ends_with") for value in values for k in range(1, len(value))
    ] + [
        (value, value[:k], value[k:], "starts_with")
        for value in values
        for k in range(1, len(value))
    ]
    splits = [split for split in splits if len(split[1]) >= MIN_WHOLE_PIECE]
    if not splits:
        return set()
    wholes = sorted({whole for _, whole, _, _ in splits})
    # which columns hold a piece whole: an equality join per column, one column at a time so
    # memory stays bounded (one union over every column ran out of memory at 100k pupils)
    held_whole = [
        (index, whole)
        for index, (schema, table, column) in enumerate(columns)
        for (whole,) in con.execute(
            f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" '
            f'where cast("{column}" as varchar) in (select unnest($wholes))',
            {"wholes": wholes},
        ).fetchall()
    ]
    explained: set[str] = set()
    for index, whole in held_whole:
        schema, table, column = columns[index]
        text = f'cast("{column}" as varchar)'
        for value, piece, rest, side in splits:
            if piece != whole or value in explained:
                continue
            # another string of the column beside it: one cannot stand beside itself
            query = (
                f'select exists (select 1 from "{schema}"."{table}" where {side}({text}, $rest) '
                f"and {text} <> $whole)"
            )
            if con.execute(query, {"rest": rest, "whole": whole}).fetchall()[0][0]:
                explained.add(value)
    return explained


def numbers_copied_outside_raw(db: Path, numbers: list[str]) -> set[str]:
    """Erased digits-only values (teacher numbers) that a text column outside ``raw.*`` holds
    whole: the check that stands in for the byte scan for them (one equality join per
    column). A raw row may keep one lawfully; a derived table may not."""
    if not numbers:
        return set()
    con = connect(db, read_only=True)
    try:
        tests = [
            f'select cast("{column}" as varchar) as value from "{schema}"."{table}" '
            f'where cast("{column}" as varchar) in (select unnest($numbers))'
            for schema, table, column in text_columns(con)
            if schema != "raw"
        ]
        if not tests:
            return set()
        query = "select distinct value from (" + " union all ".join(tests) + ")"
        return {value for (value,) in con.execute(query, {"numbers": numbers}).fetchall()}
    finally:
        con.close()
