"""Stage one landing file as text, with the line every row has in the file.

DuckDB reads the file in one parallel pass into the temp table ``tt_stage``: every contract
column as trimmed text (``__s_<column>``, empty = null), extra columns as given, and the raw
row as JSON only for the rare rows where trimming changed something (the quarantine keeps
values as given). Lines the CSV reader cannot split land in its rejects table and become
``tt_malformed``. The temp view ``tt_numbered`` adds ``__tt_line`` to every staged row. All of
it lives only in the load's connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.warehouse import scalar
from tinytracker.loading.extract import ExtractFile
from tinytracker.loading.lines import (
    StepFunction,
    blank_line_records,
    record_to_line_steps,
    skipped_records_steps,
)
from tinytracker.loading.rules import s as text_column
from tinytracker.loading.scan import first_inconsistent_line_ending
from tinytracker.loading.sqltext import ident, literal, trimmed

RAW_GIVEN = "__tt_raw_given"

STAGE_OBJECTS = (
    ("view", "tt_numbered"),
    ("table", "tt_stage"),
    ("table", "tt_malformed"),
    ("table", "tt_rejected_records"),
    ("table", "tt_rejects"),
    ("table", "tt_rejects_scan"),
    ("table", "tt_skip"),
    ("table", "tt_shift"),
)


@dataclass(frozen=True)
class StagedFile:
    """Counts of what DuckDB read from one file."""

    extract_file: ExtractFile
    staged_rows: int
    malformed_rows: int

    @property
    def rows_read(self) -> int:
        return self.staged_rows + self.malformed_rows


def drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop one file's staging objects (they hold the file's data in memory)."""
    for kind, name in STAGE_OBJECTS:
        con.execute(f"drop {kind} if exists {name}")


def stage_file(con: duckdb.DuckDBPyConnection, extract_file: ExtractFile) -> StagedFile:
    """Read one file into ``tt_stage``/``tt_malformed`` and define ``tt_numbered``.

    The previous file's objects must have been dropped (:func:`drop_stage`).
    """
    try:
        if extract_file.format == "csv":
            _read_csv(con, extract_file)
        else:
            _read_parquet(con, extract_file)
    except duckdb.Error as exc:
        line = None
        reason = str(exc).splitlines()[0]
        if extract_file.format == "csv":
            line = first_inconsistent_line_ending(extract_file.path)
            if line is not None:
                reason = (
                    "it mixes line endings (\\n and \\r\\n) or has a stray carriage return, "
                    "which the CSV reader cannot split into rows"
                )
        raise TinyTrackerError(
            f"cannot read the file: {reason}; nothing was loaded",
            file=str(extract_file.path),
            line=line,
        ) from exc
    staged = scalar(con, "select count(*) from tt_stage")
    malformed = scalar(con, "select count(*) from tt_malformed")
    return StagedFile(extract_file, int(staged), int(malformed))


def _naive_field(position: int) -> str:
    """The field at a 1-based position of a malformed line split on commas, quotes removed."""
    line = "ltrim(__tt_csv_line, chr(13) || chr(10))"
    return f"trim(string_split({line}, ',')[{position}], '\"')"


def naive_value(extract_file: ExtractFile) -> Callable[[str], str]:
    """Best-effort trimmed value of a column in a malformed line (split on commas).

    Used only to decide whether a malformed line belongs to a refused organisation or an erased
    subject (so it is not stored) and to label its quarantine row with an organisation.
    """
    header = extract_file.header

    def value_of(column: str) -> str:
        return trimmed(_naive_field(header.index(column) + 1))

    return value_of


def naive_raw_values_sql(extract_file: ExtractFile) -> str:
    """JSON of a malformed line: its fields by position under the header's names, and the line.

    The named fields let retention find a quarantined line by the subject it names
    (``raw_values.pupil_id``), as it does for every other quarantined row.
    """
    pairs = [
        f"{literal(name)}, {_naive_field(position)}"
        for position, name in enumerate(extract_file.header, start=1)
    ]
    pairs.append("'_raw_line', __tt_csv_line")
    return f"json_object({', '.join(pairs)})"


def raw_values_sql(extract_file: ExtractFile) -> str:
    """JSON of a staged row's values as given (for the quarantine)."""
    contract = set(extract_file.contract.column_names)
    pairs = ", ".join(
        f"{literal(name)}, {text_column(name) if name in contract else ident(name)}"
        for name in extract_file.header
    )
    return f"coalesce({RAW_GIVEN}, json_object({pairs}))"


def _staging_select(extract_file: ExtractFile, source: str) -> str:
    """Trim contract columns once, while reading; keep the raw row only where it differs."""
    contract = extract_file.contract.column_names
    inner = [ident(name) for name in extract_file.header]
    inner += [f"{trimmed(ident(c))} as {text_column(c)}" for c in contract]
    differs = " or ".join(f"{ident(c)} is distinct from {text_column(c)}" for c in contract)
    raw = (
        "json_object("
        + ", ".join(f"{literal(name)}, {ident(name)}" for name in extract_file.header)
        + ")"
    )
    outer = [text_column(c) for c in contract]
    outer += [ident(name) for name in extract_file.extra_columns]
    outer.append(f"case when {differs} then {raw} end as {RAW_GIVEN}")
    return f"select {', '.join(outer)} from (select {', '.join(inner)} from {source})"


def _read_csv(con: duckdb.DuckDBPyConnection, extract_file: ExtractFile) -> None:
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in extract_file.header)
    source = f"""read_csv(
            {literal(str(extract_file.path))},
            header = true, auto_detect = false, columns = {{{columns}}},
            compression = '{"gzip" if extract_file.compressed else "none"}',
            delim = ',', quote = '"', escape = '"', encoding = 'utf-8',
            strict_mode = true, null_padding = false,
            store_rejects = true, rejects_table = 'tt_rejects', rejects_scan = 'tt_rejects_scan'
        )"""
    con.execute(f"create temp table tt_stage as {_staging_select(extract_file, source)}")
    # DuckDB writes one reject per missing or surplus column, each with its own running
    # "Found: n"; one record per line keeps the fewest (missing) or most (surplus) fields found,
    # which is the number of fields the line has.
    con.execute(r"""
        create temp table tt_rejected_records as
        select
            line as __tt_record,
            string_agg(distinct cast(error_type as varchar), ', ') as __tt_error_types,
            min(case when error_type = 'MISSING COLUMNS' then
                try_cast(regexp_extract(error_message, 'Found: (\d+)', 1) as bigint) end)
                as __tt_fields_missing,
            max(case when error_type = 'TOO MANY COLUMNS' then
                try_cast(regexp_extract(error_message, 'Found: (\d+)', 1) as bigint) end)
                as __tt_fields_surplus,
            arg_min(error_message, column_idx) as __tt_first_error,
            any_value(csv_line) as __tt_csv_line
        from tt_rejects
        group by line
    """)
    scan = extract_file.scan
    assert scan is not None
    encoding = scalar(
        con,
        "select min(__tt_record) from tt_rejected_records where __tt_error_types like '%ENCODING%'",
    )
    shift = record_to_line_steps(scan.inner_newline_lines)
    if encoding is not None:  # scan_csv checks first; this is DuckDB's own opinion
        line = encoding + _step_value(shift, encoding)
        raise TinyTrackerError(
            "file is not UTF-8 encoded; nothing was loaded", file=str(extract_file.path), line=line
        )
    malformed_records = [
        int(row[0])
        for row in con.execute("select __tt_record from tt_rejected_records order by 1").fetchall()
    ]
    skip = skipped_records_steps(
        malformed_records + blank_line_records(scan.blank_lines, scan.inner_newline_lines)
    )
    base = scalar(con, "select coalesce(min(rowid), 0) from tt_stage")
    positioned = f"(select rowid - {base} as __tt_idx, * from tt_stage)"
    if skip.small:
        records = (
            f"(select __tt_idx + 2 + {skip.as_case('__tt_idx')} as __tt_record, "
            f"* exclude (__tt_idx) from {positioned})"
        )
    else:
        _step_table(con, "tt_skip", skip)
        records = (
            "(select p.__tt_idx + 2 + coalesce(k.__tt_k, 0) as __tt_record, "
            f"p.* exclude (__tt_idx) from {positioned} as p "
            "asof left join tt_skip as k on p.__tt_idx >= k.__tt_threshold)"
        )
    con.execute("create temp view tt_numbered as " + _with_lines(con, records, shift))
    # Malformed lines get their physical line the same way, then one plain-words detail.
    con.execute(
        f"create temp table tt_malformed as select *, "
        f"{malformed_detail_sql(len(extract_file.header))} as __tt_detail from ("
        + _with_lines(con, "tt_rejected_records", shift, keep_record=True)
        + ")"
    )


def malformed_detail_sql(header_fields: int) -> str:
    """SQL for one malformed line's detail, e.g. ``line 51 has 5 fields, the header has 18``.

    It names the line and what is wrong with it (never its values), so the CLI can print it.
    """
    header = f"the header has {header_fields}"
    return f"""'malformed_row: line ' || __tt_line || case
        when __tt_fields_missing is not null then
            ' has ' || __tt_fields_missing || ' field' ||
            case when __tt_fields_missing = 1 then '' else 's' end ||
            ', {header} (the line is cut short, e.g. truncated, or has fields missing)'
        when __tt_fields_surplus is not null then
            ' has ' || __tt_fields_surplus || ' fields, {header} (a comma in a value that is '
            || 'not quoted, or fields added)'
        when __tt_error_types like '%UNQUOTED VALUE%' then
            ' has a quoted value that is not closed, or text after a closing quote'
        else ' cannot be read as the header''s {header_fields} columns: ' || __tt_first_error
    end"""


def _with_lines(
    con: duckdb.DuckDBPyConnection, records: str, shift: StepFunction, keep_record: bool = False
) -> str:
    """``select`` adding ``__tt_line`` (record + newlines inside quotes before it)."""
    exclude = "" if keep_record else " exclude (__tt_record)"
    if shift.small:
        return (
            f"select __tt_record + {shift.as_case('__tt_record')} as __tt_line, *{exclude} "
            f"from {records}"
        )
    _step_table(con, "tt_shift", shift)
    return (
        "select r.__tt_record + coalesce(h.__tt_k, 0) as __tt_line, "
        f"r.*{exclude} from {records} as r "
        "asof left join tt_shift as h on r.__tt_record >= h.__tt_threshold"
    )


def _step_table(con: duckdb.DuckDBPyConnection, name: str, steps: StepFunction) -> None:
    con.execute(
        f"create or replace temp table {name} as select * from (values {steps.values_sql()}) "
        "as v(__tt_threshold, __tt_k)"
    )


def _step_value(steps: StepFunction, x: int) -> int:
    value = 0
    for threshold, k in steps.thresholds:
        if x >= threshold:
            value = k
    return value


def _read_parquet(con: duckdb.DuckDBPyConnection, extract_file: ExtractFile) -> None:
    # Every column as text, so Parquet and CSV go through the same rules (a DATE becomes
    # YYYY-MM-DD, a BOOLEAN true/false).
    columns = ", ".join(
        f"cast({ident(name)} as varchar) as {ident(name)}" for name in extract_file.header
    )
    source = f"(select {columns} from read_parquet({literal(str(extract_file.path))}))"
    con.execute(f"create temp table tt_stage as {_staging_select(extract_file, source)}")
    con.execute(
        "create temp table tt_malformed as select null::bigint as __tt_line, "
        "null::bigint as __tt_record, null::varchar as __tt_error_types, "
        "null::bigint as __tt_fields_missing, null::bigint as __tt_fields_surplus, "
        "null::varchar as __tt_first_error, null::varchar as __tt_csv_line, "
        "null::varchar as __tt_detail where false"
    )
    base = scalar(con, "select coalesce(min(rowid), 0) from tt_stage")
    # Parquet has no header line: a row's "line" is its 1-based row number.
    con.execute(
        f"create temp view tt_numbered as select rowid - {base} + 1 as __tt_line, * from tt_stage"
    )
