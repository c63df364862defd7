"""Restore a backup without resurrecting anyone erased since it was taken.

A backup is the warehouse as it was on its date: it still holds people that later retention
runs or erasure requests anonymised or deleted. Restoring it naively would bring them back.
So a restore

1. copies the snapshot beside the warehouse,
2. carries the audit trail over from the warehouse being replaced (runs, logs, suppression
   list, holds, requests, shares: the record of what was promised and done must survive a
   restore), and the organisations' later instructions (revoked MIS permission, earlier
   anonymisation requests),
3. finds every subject of the restored data that is on the suppression list (by keyed token)
   and erases it again through the same action mapping and statements as a scheduled run,
   with the same surrogate it was given then (so statuses and audit rows still line up),
4. swaps the file in atomically, rebuilds what dbt derives and rewrites the file, so neither
   the live tables nor the file's free blocks hold an erased value.

Step 3 re-applies every retention run logged after the snapshot: each erased subject is on
the list with the run that erased it, whichever rule or request it was.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration import storage, warehouse
from orchestration.errors import TinyTrackerError
from orchestration.retention import apply
from orchestration.rights.organisations import carry_over_instructions

# Append-only audit tables and the columns that identify a row: rows of the replaced
# warehouse (or of the ledger) that the snapshot lacks are kept.
APPEND_ONLY_AUDIT = {
    "retention_runs": ("run_id",),
    "retention_log": ("run_id", "rule_id", "table_name"),
    "erasure_suppressions": ("run_id", "subject_kind", "organisation_id", "subject_token"),
    "subject_requests": ("request_id",),
    "organisation_changes": ("change_id",),
    "shares": ("share_id",),
}


def _insert_missing(con: duckdb.DuckDBPyConnection, table: str, source: str,
                    params: list | None = None) -> int:
    keys = APPEND_ONLY_AUDIT[table]
    match = " and ".join(f"kept.{k} = incoming.{k}" for k in keys)
    return con.execute(
        f"insert into audit.{table} select * from {source} as incoming "
        f"where not exists (select 1 from audit.{table} as kept where {match})",
        params or [],
    ).fetchone()[0]
# Current-state audit tables: the replaced warehouse's rows win outright (a hold released or
# placed after the snapshot must stay so).
CURRENT_STATE_AUDIT = ("legal_holds",)

# Where each kind of erased subject can reappear in restored data.
SUBJECT_SOURCES = {
    "pupil": ("raw.pupils", "pupil_id", "anonymised_on is null"),
    "employee": ("raw.employees", "employee_id", "anonymised_on is null"),
    "pupil_contact": ("raw.pupil_contacts", "contact_id", "true"),
    "correspondence": ("raw.correspondence", "correspondence_id", "true"),
    "setup_import": ("raw.setup_imports", "import_id", "true"),
}


@dataclass(frozen=True)
class RestoreResult:
    backup: storage.Backup
    replay: apply.RunResult
    carried_over: dict[str, int]


def _find_backup(taken_on: dt.date) -> storage.Backup:
    backups = storage.list_backups()
    for backup in backups:
        if backup.taken_on == taken_on:
            return backup
    available = ", ".join(b.taken_on.isoformat() for b in backups) or "none"
    raise TinyTrackerError(
        f"no backup taken on {taken_on} in {storage.backup_dir()} (available: {available})"
    )


def _carry_over_audit(con: duckdb.DuckDBPyConnection, current: Path) -> dict[str, int]:
    con.execute("attach ? as replaced (read_only)", [str(current)])
    try:
        existing = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = 'replaced' and schema_name = 'audit'").fetchall()}
        carried: dict[str, int] = {}
        for table in APPEND_ONLY_AUDIT:
            if table in existing:
                carried[table] = _insert_missing(con, table, f"replaced.audit.{table}")
        # a revocation or anonymisation request made after the snapshot must survive it
        carried["organisations"] = carry_over_instructions(con, "replaced")
        for table in CURRENT_STATE_AUDIT:
            if table in existing:
                con.execute(f"delete from audit.{table}")
                carried[table] = con.execute(
                    f"insert into audit.{table} select * from replaced.audit.{table}"
                ).fetchone()[0]
    finally:
        con.execute("detach replaced")
    return carried


def _carry_over_ledger(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Audit rows of runs the snapshot lacks, from the ledger (survives a lost warehouse)."""
    carried: dict[str, int] = {}
    directory = apply.ledger_dir()
    for table in apply.LEDGER_TABLES:
        files = sorted(directory.glob(f"*.{table}.parquet"))
        if not files:
            continue
        carried[table] = _insert_missing(con, table, "read_parquet(?)",
                                         [[str(f) for f in files]])
    return carried


def _erased_subjects_found_again(con: duckdb.DuckDBPyConnection) -> None:
    """``run_subjects``: restored subjects whose token is on the suppression list."""
    selects = []
    for kind, (table, key, live) in SUBJECT_SOURCES.items():
        token = warehouse.subject_token_sql(f"'{kind}'", "found.organisation_id", f"found.{key}")
        selects.append(
            f"""
            select distinct found.organisation_id, '{kind}' as subject_kind,
                found.{key} as subject_id, suppressed.rule_id, suppressed.surrogate_id
            from {table} as found
            inner join audit.erasure_suppressions as suppressed
                on suppressed.subject_kind = '{kind}'
                and suppressed.organisation_id = found.organisation_id
                and suppressed.subject_token = {token}
            where {live}
            """
        )
    con.execute("create or replace temp table run_subjects as " + " union all ".join(selects))


def restore(taken_on: dt.date, today: dt.date | None = None) -> RestoreResult:
    """Replace the warehouse with the backup of ``taken_on`` and re-erase what was erased."""
    backup = _find_backup(taken_on)
    db = warehouse.db_path()
    warehouse.secret()  # tokens need the key; fail before touching anything
    pending = db.with_name(db.name + ".restore")
    for leftover in (pending, pending.with_name(pending.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    shutil.copyfile(backup.path, pending)
    as_of = today or dt.date.today()
    result = apply.RunResult(run_id=str(uuid.uuid4()), as_of=as_of, dry_run=False)
    con = duckdb.connect(str(pending), config=warehouse.duckdb_config())
    try:
        apply.ensure_run_tables(con)
        carried: dict[str, int] = {}
        if db.exists():
            current = warehouse.connect(db)  # waits for, then holds off, other writers
            current.close()
            carried = _carry_over_audit(con, db)
        for table, rows in _carry_over_ledger(con).items():
            carried[table] = carried.get(table, 0) + rows
        warehouse.bind_secret(con)

        def prepare() -> None:
            _erased_subjects_found_again(con)
            apply.steps_from_subjects(con, as_of)

        apply.apply_in_transaction(con, result, prepare, requested_by="restore",
                                   record_suppressions=False)
        con.execute("checkpoint")
    finally:
        con.close()
    old = db.with_name(db.name + ".old")
    if db.exists():
        os.link(db, old)
    os.replace(pending, db)
    if old.exists():
        storage.cleanup_interrupted_rebuild(db)  # zero-fills the replaced file
    apply.finish_physical_erasure(as_of, db)
    return RestoreResult(backup=backup, replay=result, carried_over=carried)
