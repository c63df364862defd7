"""The loader's writes: the one module besides the erasure engine that changes ``raw.*``.

A checked file goes in here (quarantine rows, then an upsert of the clean ones), with its line
in the load log, the revocations an extract carries and the instructions an organisation gives
through the CLI (MIS permission, early anonymisation: the same columns an extract carries).
It never deletes a row and never clears a value: that is the erasure engine's alone.

The upsert is a ``MERGE`` on the contract key (one per batch of organisations for a large
file): a row whose values all equal the stored row is left alone (so a reload changes nothing,
not even ``_load_id``), a changed row is updated, a new one inserted. Rows absent from the
extract are never deleted (extracts may be partial), and the retention columns
``anonymised_on``/``anonymised_by_rule_id`` are never written by a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from tinytracker.core.contract import LandingFile
from tinytracker.core.warehouse import fetch_row, scalar
from tinytracker.loading.extract import ExtractFile
from tinytracker.loading.policy import FATE_KEEP
from tinytracker.loading.result import FileResult, QuarantineCounts, QuarantinedLine
from tinytracker.loading.rules import s as text_column
from tinytracker.loading.sqltext import ident, literal

MERGE_BATCH_ROWS = 5_000_000
"""Files with more clean rows than this are merged a few organisations at a time."""
STAGED_ORGANISATION = text_column("organisation_id")

# Dates an organisation can set outside the extract (``tinytracker organisation
# request-anonymisation``): an extract may bring the request forward but never clears or
# postpones it, so a customer's request cannot be undone by the next MIS sync.
KEEP_EARLIEST: dict[str, tuple[str, ...]] = {"organisations": ("anonymise_requested_on",)}


@dataclass(frozen=True)
class UpsertCounts:
    """What the MERGE did to one file's clean rows."""

    inserted: int
    updated: int
    unchanged: int


MAX_EXAMPLES = 5
"""Quarantined lines per file that the load report lists by line and rule."""


def insert_quarantine(
    con: duckdb.DuckDBPyConnection, load_id: str, extract_file: ExtractFile, loaded_at_sql: str
) -> QuarantineCounts:
    """Quarantine rows that broke a rule and lines the CSV reader could not split.

    A reload of the same file (same name, same checksum in ``raw.load_log``) finds its bad rows
    already quarantined: a row with the same line, rule and raw values is not added again but
    counted as already quarantined, so reloading an extract changes nothing here either.
    """
    con.execute(f"""
        create or replace temp table tt_quarantine as
        with incoming as (
            select __tt_line, __tt_rule, __tt_detail, __tt_org, __tt_raw from tt_broken
            union all
            select __tt_line, 'malformed_row', __tt_detail, __tt_org, __tt_raw
            from tt_malformed_fate
            where __tt_fate = '{FATE_KEEP}'
        ),
        earlier as (
            select
                q.line_number,
                q.rule,
                cast(q.raw_values as varchar) as raw_text,
                min(q.load_id) as load_id
            from raw.quarantine as q
            join raw.load_log as l on l.load_id = q.load_id and l.file_name = q.file_name
            where q.file_name = {literal(extract_file.display_name)}
                and l.file_checksum = {literal(extract_file.checksum)}
            group by all
        )
        select i.*, e.load_id as __tt_earlier_load
        from incoming as i
        left join earlier as e
            on e.line_number = i.__tt_line and e.rule = i.__tt_rule
            and e.raw_text = cast(i.__tt_raw as varchar)
    """)
    con.execute(f"""
        insert into raw.quarantine (load_id, file_name, line_number, rule, detail,
            organisation_id, raw_values, quarantined_at)
        select {literal(load_id)}, {literal(extract_file.display_name)}, __tt_line, __tt_rule,
            __tt_detail, __tt_org, __tt_raw, {loaded_at_sql}
        from tt_quarantine
        where __tt_earlier_load is null
    """)
    broken, malformed, already = fetch_row(
        con,
        """
        select
            count(*) filter (where __tt_rule <> 'malformed_row'),
            count(*) filter (where __tt_rule = 'malformed_row'),
            count(__tt_earlier_load)
        from tt_quarantine
    """,
    )
    examples = tuple(
        QuarantinedLine(line, rule, detail if rule == "malformed_row" else None, earlier)
        for line, rule, detail, earlier in con.execute(f"""
            select __tt_line, __tt_rule, __tt_detail, __tt_earlier_load from tt_quarantine
            order by __tt_line, __tt_rule limit {MAX_EXAMPLES}
        """).fetchall()
    )
    earlier_loads = tuple(
        row[0]
        for row in con.execute(
            "select distinct __tt_earlier_load from tt_quarantine "
            "where __tt_earlier_load is not null order by 1"
        ).fetchall()
    )
    con.execute("drop table tt_quarantine")
    return QuarantineCounts(int(broken), int(malformed), int(already), examples, earlier_loads)


def merge_sql(
    landing_file: LandingFile,
    load_id: str,
    loaded_at_sql: str,
    organisations: list[str] | None = None,
) -> str:
    """``MERGE`` of the clean rows (``tt_clean``) into ``raw.<file>`` on the contract key.

    With ``organisations``, only their rows (one batch of a large file).
    """
    columns = [*landing_file.column_names, "_extra"]
    on = " and ".join(f"target.{ident(k)} = source.{ident(k)}" for k in landing_file.key)
    non_key = [c for c in columns if c not in landing_file.key]
    keep_earliest = KEEP_EARLIEST.get(landing_file.name, ())

    def incoming(column: str) -> str:
        if column in keep_earliest:
            return f"least(source.{ident(column)}, target.{ident(column)})"  # least skips nulls
        return f"source.{ident(column)}"

    differs = (
        " or ".join(f"target.{ident(c)} is distinct from {incoming(c)}" for c in non_key) or "false"
    )
    updates = ", ".join(f"{ident(c)} = {incoming(c)}" for c in non_key)
    bookkeeping = f"_load_id = {literal(load_id)}, _loaded_at = {loaded_at_sql}"
    insert_columns = ", ".join(ident(c) for c in [*columns, "_load_id", "_loaded_at"])
    insert_values = ", ".join(
        [*(f"source.{ident(c)}" for c in columns), literal(load_id), loaded_at_sql]
    )
    selected = ", ".join(ident(c) for c in columns)
    where = ""
    if organisations is not None:
        where = f" where organisation_id in ({', '.join(literal(o) for o in organisations)})"
    return f"""
        merge into raw.{landing_file.name} as target
        using (select {selected} from tt_clean{where}) as source
        on {on}
        when matched and ({differs}) then update set {updates}, {bookkeeping}
        when not matched then insert ({insert_columns}) values ({insert_values})
    """


def insert_sql(
    landing_file: LandingFile, load_id: str, loaded_at_sql: str, organisations: list[str]
) -> str:
    """Plain ``insert`` of the clean rows of organisations with nothing stored in the table.

    Nothing can collide (duplicate keys within the extract are quarantined), and an insert
    costs a fraction of a MERGE, which must hash the target: a first load is mostly this.
    """
    columns = [*landing_file.column_names, "_extra"]
    insert_columns = ", ".join(ident(c) for c in [*columns, "_load_id", "_loaded_at"])
    selected = ", ".join(ident(c) for c in columns)
    listed = ", ".join(literal(o) for o in organisations)
    return f"""
        insert into raw.{landing_file.name} ({insert_columns})
        select {selected}, {literal(load_id)}, {loaded_at_sql}
        from tt_clean where organisation_id in ({listed})
    """


def organisation_batches(con: duckdb.DuckDBPyConnection, batch_rows: int) -> list[list[str]]:
    """Organisations grouped so each group has about ``batch_rows`` staged rows or fewer.

    One MERGE over 38 million rows builds a hash table over all of them; merging a few
    organisations at a time (the key starts with organisation_id, so batches never share a
    key) needs a fraction of the memory and is no slower.
    """
    sizes = con.execute(
        f"select {STAGED_ORGANISATION}, count(*) from tt_stage "
        f"where {STAGED_ORGANISATION} is not null group by 1 order by 1"
    ).fetchall()
    batches: list[list[str]] = []
    current: list[str] = []
    current_rows = 0
    for organisation, rows in sizes:
        if current and current_rows + rows > batch_rows:
            batches.append(current)
            current, current_rows = [], 0
        current.append(str(organisation))
        current_rows += int(rows)
    if current:
        batches.append(current)
    return batches


def upsert(
    con: duckdb.DuckDBPyConnection,
    landing_file: LandingFile,
    load_id: str,
    loaded_at_sql: str,
    loadable: int,
) -> UpsertCounts:
    """Run the MERGE (in organisation batches for a large file) and count what it did.

    Nothing is deleted, so the table's growth is the number inserted; MERGE reports inserted
    plus updated.
    """
    if loadable == 0:
        return UpsertCounts(0, 0, 0)
    table = f"raw.{landing_file.name}"
    assert landing_file.key[0] == "organisation_id"  # batches must never split a key
    before = scalar(con, f"select count(*) from {table}")
    stored = {
        org for (org,) in con.execute(f"select distinct organisation_id from {table}").fetchall()
    }
    batches: list[list[str] | None] = [None]
    changed = 0
    if loadable > MERGE_BATCH_ROWS:
        org_batches = list(organisation_batches(con, MERGE_BATCH_ROWS))
        newcomers = [org for batch in org_batches for org in batch if org not in stored]
        if newcomers:
            changed += int(scalar(con, insert_sql(landing_file, load_id, loaded_at_sql, newcomers)))
        batches = [
            kept for batch in org_batches if (kept := [org for org in batch if org in stored])
        ]
    for batch in batches:
        result = con.execute(merge_sql(landing_file, load_id, loaded_at_sql, batch)).fetchone()
        changed += int(result[0]) if result else 0
    after = scalar(con, f"select count(*) from {table}")
    inserted = int(after - before)
    updated = changed - inserted
    return UpsertCounts(inserted, updated, loadable - inserted - updated)


def record_revocations(
    con: duckdb.DuckDBPyConnection, load_id: str, loaded_at_sql: str
) -> list[str]:
    """Set ``mis_permission = 'revoked'`` for organisations this extract revokes.

    Only that column (and the load bookkeeping) changes: the rest of the extract's row for the
    organisation is refused like all its other rows. An organisation the warehouse has never
    stored gets a row with only its id, name and the revocation (organisation data, not about
    any person), so a later extract without ``organisations.csv`` is refused for it too instead
    of its pupils' rows landing in quarantine as an unknown organisation.
    """
    con.execute(f"""
        insert into raw.organisations (organisation_id, name, mis_permission, _load_id,
            _loaded_at)
        select organisation_id, name, 'revoked', {literal(load_id)}, {loaded_at_sql}
        from tt_refused
        where revoked_by_extract and not in_warehouse
    """)
    rows = con.execute(f"""
        update raw.organisations
        set mis_permission = 'revoked', _load_id = {literal(load_id)}, _loaded_at = {loaded_at_sql}
        where organisation_id in (
            select organisation_id from tt_refused where revoked_by_extract and in_warehouse
        )
        and mis_permission is distinct from 'revoked'
        returning organisation_id
    """).fetchall()
    return sorted({str(row[0]) for row in rows})


def log_file(
    con: duckdb.DuckDBPyConnection,
    load_id: str,
    folder: Path,
    result: FileResult,
    loaded_at: datetime,
) -> None:
    con.execute(
        "insert into raw.load_log (load_id, extract_path, file_name, file_checksum, rows_read, "
        "rows_inserted, rows_updated, rows_unchanged, rows_quarantined, rows_refused, "
        "rows_suppressed, status, loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            str(folder),
            result.file_name,
            result.checksum,
            result.read,
            result.inserted,
            result.updated,
            result.unchanged,
            result.quarantined,
            result.refused,
            result.suppressed,
            result.status,
            loaded_at,
        ],
    )


ORGANISATION_INSTRUCTIONS = ("mis_permission", "anonymise_requested_on")
"""Columns of raw.organisations the CLI may set outside an extract."""


def set_organisation_column(
    con: duckdb.DuckDBPyConnection, organisation_id: str, column: str, value: object
) -> None:
    """Record an organisation's instruction (inside the caller's audited transaction)."""
    if column not in ORGANISATION_INSTRUCTIONS:
        raise ValueError(f"{column} is not an organisation instruction")
    con.execute(
        f"update raw.organisations set {column} = ? where organisation_id = ?",
        [value, organisation_id],
    )


def carry_over_instructions(con: duckdb.DuckDBPyConnection, source_catalog: str) -> int:
    """Copy MIS permission and early-anonymisation requests from an attached warehouse.

    For a restore from backup (tinytracker/backup/restore.py, with the replaced warehouse
    attached as ``source_catalog``): the snapshot predates later revocations and requests, and
    a revocation lost that way would let loads resume. The replaced warehouse's permission
    wins (it is the latest instruction, from the CLI or an extract); of two request dates the
    earlier wins, as in the loader. Returns the organisations changed.
    """
    if '"' in source_catalog:
        raise ValueError(f"not a catalog name: {source_catalog!r}")
    return scalar(
        con,
        f"""
        update raw.organisations as target set
            mis_permission = source.mis_permission,
            anonymise_requested_on = least(
                target.anonymise_requested_on, source.anonymise_requested_on
            )
        from "{source_catalog}".raw.organisations as source
        where target.organisation_id = source.organisation_id
            and (
                target.mis_permission is distinct from source.mis_permission
                or target.anonymise_requested_on is distinct from least(
                    target.anonymise_requested_on, source.anonymise_requested_on
                )
            )
        """,
    )
