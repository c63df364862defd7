"""Writing landing files: exactly the contract's columns, in its order, as text.

Every file goes through DuckDB so all files share one CSV dialect (UTF-8, header, comma,
``"`` quoting only where needed, empty = null, ISO dates, ``true``/``false``). Values are
cast to text before writing, which is also what lets ``--inject-errors`` put an unparseable
date in a date column. Row order is explicit (an ``_ord`` column or the attendance sort
keys), so the bytes are the same on every run.

With ``--format parquet`` the large files (``PARQUET_FILES``) are written as Parquet with the
same stem and the same columns, all of type string (exactly the CSV text, nulls as nulls):
the loader validates both formats with the same text rules, and bad rows can be injected
into Parquet too. Parquet is written with pyarrow from DuckDB's ordered result, one row group
per organisation chunk, so it is deterministic as well.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tinytracker.core.contract import FILES_BY_NAME
from tinytracker.core.warehouse import scalar

PARQUET_FILES = frozenset({"attendance_sessions", "assessments"})
"""Files written as Parquet with ``--format parquet``; the others stay CSV."""


def arrow_column(values: np.ndarray | list, kind: str = "text") -> pa.Array:
    """A typed Arrow column from a numpy array: datetime64[D] with NaT -> date32 with nulls;
    object arrays with None -> strings with nulls; bool/int arrays kept as they are."""
    if kind == "date":
        return pa.array(
            np.asarray(values, dtype="datetime64[D]"), type=pa.date32(), from_pandas=True
        )
    if kind == "boolean":
        return pa.array(
            list(values)
            if isinstance(values, np.ndarray) and values.dtype == object
            else np.asarray(values, dtype=bool),
            type=pa.bool_(),
        )
    if kind == "integer":
        return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())
    return pa.array(
        list(values) if isinstance(values, np.ndarray) else values,
        type=pa.string(),
        from_pandas=True,
    )


def contract_table(name: str, columns: Mapping[str, np.ndarray | list]) -> pa.Table:
    """An Arrow table with the contract's columns of ``name`` (typed) plus ``_ord``, the row
    order of the file."""
    landing = FILES_BY_NAME[name]
    missing = set(landing.column_names) - set(columns)
    if missing:
        raise ValueError(f"{name}: missing columns {sorted(missing)}")
    arrays = [arrow_column(columns[c.name], c.type) for c in landing.columns]
    n = len(arrays[0]) if arrays else 0
    arrays.append(pa.array(np.arange(n, dtype=np.float64)))
    return pa.Table.from_arrays(arrays, names=[*landing.column_names, "_ord"])


@dataclass
class WrittenFile:
    name: str
    path: Path
    rows: int
    bytes: int


def _text_select(name: str, source: str) -> str:
    cols = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in FILES_BY_NAME[name].column_names)
    return f"select {cols}, _ord from {source}"


def injected_table(name: str, rows: list[dict]) -> pa.Table:
    """Injected bad rows as an all-text table with their ``_ord`` positions."""
    names = FILES_BY_NAME[name].column_names
    arrays = [pa.array([r.get(c) for r in rows], type=pa.string()) for c in names]
    arrays.append(pa.array([float(r["_ord"]) for r in rows], type=pa.float64()))
    return pa.Table.from_arrays(arrays, names=[*names, "_ord"])


def write_file(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    name: str,
    table: pa.Table,
    injected: list[dict],
    file_format: str,
) -> WrittenFile:
    """Write one landing file from ``table`` plus any injected rows, ordered by ``_ord``."""
    con.register("gen_source", table)
    query = _text_select(name, "gen_source")
    if injected:
        con.register("gen_injected", injected_table(name, injected))
        query += " union all select * from gen_injected"
    cols = ", ".join(f'"{c}"' for c in FILES_BY_NAME[name].column_names)
    ordered = f"select {cols} from ({query}) order by _ord"
    try:
        if file_format == "parquet" and name in PARQUET_FILES:
            path = out / f"{name}.parquet"
            result = con.sql(ordered).to_arrow_table()
            pq.write_table(result, path, compression="zstd", row_group_size=1_000_000)
            rows = result.num_rows
        else:
            path = out / f"{name}.csv"
            rows = scalar(con, f"copy ({ordered}) to '{_sql_path(path)}' (format csv, header true)")
    finally:
        con.unregister("gen_source")
        if injected:
            con.unregister("gen_injected")
    return WrittenFile(name, path, int(rows), path.stat().st_size)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


class ChunkedFile:
    """A big file written one ordered chunk at a time (one per organisation), so memory stays
    bounded and each chunk can be sorted on its own: CSV chunks are concatenated after the
    header; Parquet chunks become row groups of one file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, out: Path, name: str, file_format: str):
        self.con = con
        self.name = name
        self.parquet = file_format == "parquet" and name in PARQUET_FILES
        self.path = out / f"{name}.{'parquet' if self.parquet else 'csv'}"
        self.rows = 0
        self._parts: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._out = out

    def write_chunk(self, query: str) -> int:
        """Append the rows of ``query`` (already ordered, contract columns as text)."""
        if self.parquet:
            table = self.con.sql(query).to_arrow_table()
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            if table.num_rows:
                self._writer.write_table(table, row_group_size=2_000_000)
            rows = table.num_rows
        else:
            part = self._out / f".{self.name}.part{len(self._parts):04d}.csv"
            rows = scalar(
                self.con, f"copy ({query}) to '{_sql_path(part)}' (format csv, header false)"
            )
            self._parts.append(part)
        self.rows += int(rows)
        return int(rows)

    def close(self) -> WrittenFile:
        names = FILES_BY_NAME[self.name].column_names
        if self.parquet:
            if self._writer is None:
                schema = pa.schema([(c, pa.string()) for c in names])
                self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
            self._writer.close()
        else:
            with open(self.path, "wb") as target:
                target.write((",".join(names) + "\n").encode("utf-8"))
                for part in self._parts:
                    with open(part, "rb") as source:
                        shutil.copyfileobj(source, target, length=16 * 1024 * 1024)
                    part.unlink()
        return WrittenFile(self.name, self.path, self.rows, self.path.stat().st_size)
