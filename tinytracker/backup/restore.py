"""Restore a backup without resurrecting anyone erased since it was taken.

A backup is the warehouse as it was on its date: it still holds people that later retention
runs or erasure requests anonymised or deleted. Restoring it naively would bring them back.
So a restore

1. copies the snapshot beside the warehouse,
2. carries the audit trail over from the warehouse being replaced (runs, logs, suppression
   list, holds, requests, shares: the record of what was promised and done must survive a
   restore), and the organisations' later instructions (revoked MIS permission, earlier
   anonymisation requests),
3. has the erasure engine erase again every restored subject and row on the suppression list
   (:mod:`tinytracker.erasure.replay`),
4. swaps the file in atomically. The caller then rebuilds what dbt derives and rewrites the
   file (:func:`tinytracker.tasks.finish_erasure`: the replay is an applied run), so neither
   the live tables nor the file's free blocks hold an erased value.

Step 3 re-applies every retention run logged after the snapshot: each erased subject is on
the list with the run that erased it, whichever rule or request it was. The replay is logged
as a run of its own with ``requested_by = 'restore_replay'``: it erases nobody new, and reports
and checks must not count it as a new erasure.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from dataclasses import dataclass

import duckdb

from tinytracker.backup.snapshots import Backup, list_backups
from tinytracker.core import faults
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.files import (
    RESTORE_SUFFIX,
    cleanup_interrupted_rebuild,
    holding_warehouse_lock,
    swap_in_locked,
)
from tinytracker.core.paths import backup_dir, db_path
from tinytracker.core.secret import secret
from tinytracker.core.warehouse import fetch_row, scalar
from tinytracker.erasure.ledger import LEDGER_TABLES, TOKEN_KEY_FILE, ledger_dir
from tinytracker.erasure.replay import replay_erasures
from tinytracker.erasure.result import RunResult
from tinytracker.erasure.transaction import ensure_tables
from tinytracker.loading.upsert import carry_over_instructions

# Append-only audit tables and the columns that identify a row: rows of the replaced
# warehouse (or of the ledger) that the snapshot lacks are kept.
APPEND_ONLY_AUDIT = {
    "retention_runs": ("run_id",),
    "retention_log": ("run_id", "rule_id", "table_name"),
    "erasure_suppressions": ("run_id", "subject_kind", "organisation_id", "subject_token"),
    "erasure_identifiers": ("run_id", "subject_kind", "organisation_id", "identifier_token"),
    "subject_requests": ("request_id",),
    "organisation_changes": ("change_id",),
    "shares": ("share_id",),
}


def _insert_missing(
    con: duckdb.DuckDBPyConnection, table: str, source: str, params: list | None = None
) -> int:
    keys = APPEND_ONLY_AUDIT[table]
    match = " and ".join(f"kept.{k} = incoming.{k}" for k in keys)
    return scalar(
        con,
        f"insert into audit.{table} by name select * from {source} as incoming "
        f"where not exists (select 1 from audit.{table} as kept where {match})",
        params or [],
    )


# Current-state audit tables: the replaced warehouse's rows win outright (a hold released or
# placed after the snapshot must stay so).
CURRENT_STATE_AUDIT = ("legal_holds",)


@dataclass(frozen=True)
class RestoreResult:
    backup: Backup
    replay: RunResult
    carried_over: dict[str, int]


def _find_backup(taken_on: dt.date) -> Backup:
    backups = list_backups()
    for backup in backups:
        if backup.taken_on == taken_on:
            return backup
    available = ", ".join(b.taken_on.isoformat() for b in backups) or "none"
    raise TinyTrackerError(
        f"no backup taken on {taken_on} in {backup_dir()} (available: {available})"
    )


def _carry_over_audit(con: duckdb.DuckDBPyConnection, replaced: str) -> dict[str, int]:
    """Copy the audit trail and the organisations' instructions from catalog ``replaced``
    (the warehouse being replaced, on the same connection) into the restored one."""
    existing = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = ? and schema_name = 'audit'",
            [replaced],
        ).fetchall()
    }
    if not existing:
        return {}
    carried: dict[str, int] = {}
    for table in APPEND_ONLY_AUDIT:
        if table in existing:
            carried[table] = _insert_missing(con, table, f'"{replaced}".audit.{table}')
    # a revocation or anonymisation request made after the snapshot must survive it
    carried["organisations"] = carry_over_instructions(con, replaced)
    for table in CURRENT_STATE_AUDIT:
        if table in existing:
            con.execute(f"delete from audit.{table}")
            carried[table] = scalar(
                con, f'insert into audit.{table} select * from "{replaced}".audit.{table}'
            )
    return carried


def _carry_over_ledger(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Audit rows of runs the snapshot lacks, from the ledger (survives a lost warehouse)."""
    carried: dict[str, int] = {}
    directory = ledger_dir()
    for table in LEDGER_TABLES:
        ledger_files = sorted(directory.glob(f"*.{table}.parquet"))
        if not ledger_files:
            continue
        carried[table] = _insert_missing(
            con, table, "read_parquet(?, union_by_name = true)", [[str(f) for f in ledger_files]]
        )
    return carried


def _carry_over_token_key(con: duckdb.DuckDBPyConnection, replaced: str) -> int:
    """The token key as the replaced warehouse (else the ledger) holds it: wrapped under the
    secret in use now, which may have been rotated since the snapshot."""
    sources: list[tuple[str, list[str]]] = []
    if con.execute(
        "select count(*) from duckdb_tables() where database_name = ? "
        "and schema_name = 'audit' and table_name = 'token_key'",
        [replaced],
    ).fetchall()[0][0]:
        sources.append((f'select * from "{replaced}".audit.token_key', []))
    ledger_key = ledger_dir() / TOKEN_KEY_FILE
    if ledger_key.exists():
        sources.append(("select * from read_parquet(?)", [str(ledger_key)]))
    for sql, params in sources:
        if con.execute(f"select count(*) from ({sql})", params).fetchall()[0][0]:
            con.execute("delete from audit.token_key")
            return int(con.execute(f"insert into audit.token_key {sql}", params).fetchall()[0][0])
    return 0


def restore(taken_on: dt.date, today: dt.date | None = None) -> RestoreResult:
    """Replace the warehouse with the backup of ``taken_on`` and re-erase what was erased.

    One connection holds the live warehouse's lock from before the audit trail is carried
    over until the restored file is in its place: a hold placed or an extract loaded by
    another process meanwhile waits (and then lands in the restored warehouse), never lands
    in the file about to be replaced.
    """
    backup = _find_backup(taken_on)
    db = db_path()
    secret()  # tokens need the key; fail before touching anything (checked again at replay)
    pending = db.with_name(db.name + RESTORE_SUFFIX)
    as_of = today or dt.date.today()
    result = RunResult(run_id=str(uuid.uuid4()), as_of=as_of, dry_run=False)
    with holding_warehouse_lock(db) as con:
        cleanup_interrupted_rebuild(db)  # a restore killed earlier: its copy is shredded
        shutil.copyfile(backup.path, pending)
        faults.reached("restore.copied")
        (replaced,) = fetch_row(con, "select current_database()")
        # the restored copy becomes the connection's default catalog: every statement below
        # reads and writes it, and reads the replaced warehouse only by its catalog name
        con.execute("attach ? as tt_restored", [str(pending)])
        con.execute("use tt_restored")
        try:
            carried = _restore_into(con, replaced, as_of, result)
        finally:
            con.execute(f'use "{replaced}"')
            con.execute("detach tt_restored")
        # a command killed earlier may have left the live file's WAL: fold it in first
        con.execute("checkpoint")
        faults.reached("restore.prepared")
        swap_in_locked(db, pending)
    return RestoreResult(backup=backup, replay=result, carried_over=carried)


def _restore_into(
    con: duckdb.DuckDBPyConnection, replaced: str, as_of: dt.date, result: RunResult
) -> dict[str, int]:
    """Carry the audit trail over into the restored catalog (``con``'s default) and erase
    again everyone on the suppression list; returns the rows carried over per table."""
    ensure_tables(con)
    carried = _carry_over_audit(con, replaced)
    for table, rows in _carry_over_ledger(con).items():
        carried[table] = carried.get(table, 0) + rows
    carried["token_key"] = _carry_over_token_key(con, replaced)
    replay_erasures(con, result, as_of)
    return carried
