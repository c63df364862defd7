"""Restore a backup without resurrecting anyone erased since it was taken.

A backup is the warehouse as it was on its date: it still holds people that later retention
runs or erasure requests anonymised or deleted. Restoring it naively would bring them back.
So a restore

1. copies the snapshot beside the warehouse,
2. carries the audit trail over from the warehouse being replaced (runs, logs, suppression
   list, holds, requests, shares: the record of what was promised and done must survive a
   restore), and the organisations' later instructions (revoked MIS permission, earlier
   anonymisation requests),
3. finds every subject of the restored data that is on the suppression list (by keyed token
   only: the list holds no link to anyone's kept rows) and erases it again through the same
   action mapping and statements as a scheduled run, with a fresh random surrogate (the list
   keeps the old one only for an author whose name is kept, and then it is reused, so the
   loader's re-keying of their reports still lines up); setup-import and quarantined rows an
   erasure request deleted on their own are found by their row tokens and deleted again,
4. swaps the file in atomically, rebuilds what dbt derives and rewrites the file, so neither
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

from orchestration import storage, warehouse
from orchestration.errors import TinyTrackerError
from orchestration.retention import apply
from orchestration.rights import suppression
from orchestration.rights.organisations import carry_over_instructions

REPLAY_REQUESTED_BY = "restore_replay"

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


def _insert_missing(con: duckdb.DuckDBPyConnection, table: str, source: str,
                    params: list | None = None) -> int:
    keys = APPEND_ONLY_AUDIT[table]
    match = " and ".join(f"kept.{k} = incoming.{k}" for k in keys)
    return con.execute(
        f"insert into audit.{table} by name select * from {source} as incoming "
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


def _carry_over_audit(con: duckdb.DuckDBPyConnection, replaced: str) -> dict[str, int]:
    """Copy the audit trail and the organisations' instructions from catalog ``replaced``
    (the warehouse being replaced, on the same connection) into the restored one."""
    existing = {name for (name,) in con.execute(
        "select table_name from duckdb_tables() "
        "where database_name = ? and schema_name = 'audit'", [replaced]).fetchall()}
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
            carried[table] = con.execute(
                f'insert into audit.{table} select * from "{replaced}".audit.{table}'
            ).fetchone()[0]
    return carried


def _carry_over_ledger(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Audit rows of runs the snapshot lacks, from the ledger (survives a lost warehouse)."""
    carried: dict[str, int] = {}
    directory = apply.ledger_dir()
    for table in apply.LEDGER_TABLES:
        files = sorted(directory.glob(f"*.{table}.parquet"))
        if not files:
            continue
        carried[table] = _insert_missing(con, table, "read_parquet(?, union_by_name = true)",
                                         [[str(f) for f in files]])
    return carried


def _erased_subjects_found_again(con: duckdb.DuckDBPyConnection) -> None:
    """``run_subjects``: restored subjects whose token is on the suppression list.

    Matched by token alone. The surrogate is the listed one where the list keeps one (a
    deleted subject's random id, or a kept-name author's kept id), else a fresh random one.
    """
    selects = []
    for kind, (table, key, live) in SUBJECT_SOURCES.items():
        token = warehouse.subject_token_sql(f"'{kind}'", "found.organisation_id", f"found.{key}")
        selects.append(
            f"""
            select found.organisation_id, '{kind}' as subject_kind,
                found.{key} as subject_id, suppressed.rule_id, suppressed.surrogate_id,
                suppressed.actioned_on, suppressed.subject_token
            from {table} as found
            inner join audit.erasure_suppressions as suppressed
                on suppressed.subject_kind = '{kind}'
                and suppressed.organisation_id = found.organisation_id
                and suppressed.subject_token = {token}
            where {live}
            """
        )
    con.execute(
        "create or replace temp table run_subjects as "
        "select organisation_id, subject_kind, subject_id, rule_id, "
        "coalesce(surrogate_id, cast(gen_random_uuid() as varchar)) as surrogate_id, "
        "subject_token "
        f"from ({' union all '.join(selects)}) "
        "qualify row_number() over (partition by organisation_id, subject_kind, subject_id "
        "order by actioned_on, rule_id) = 1"
    )


def _replay_rows(con: duckdb.DuckDBPyConnection, table: str, key: str,
                 kinds: tuple[str, ...]) -> list[apply.StepResult]:
    """Delete rows of ``table`` whose row token (``key``, SQL) is on the list under one of
    ``kinds``: the setup-import and quarantined rows an erasure request deleted on their own.
    One statement; one step per rule that had deleted them."""
    selects = []
    for kind in kinds:
        token = warehouse.subject_token_sql(f"'{kind}'", "organisation_id", key)
        selects.append(f"select {token} as subject_token, '{kind}' as subject_kind, "
                       f"rowid as row_id from {table}")
    tokens = " union all ".join(selects)
    con.execute(
        f"""
        create or replace temp table replay_rows as
        select distinct found.row_id, listed.rule_id
        from ({tokens}) as found
        inner join audit.erasure_suppressions as listed
            on listed.subject_kind = found.subject_kind
            and listed.subject_token = found.subject_token
        """
    )
    counts = con.execute(
        "select rule_id, count(distinct row_id) from replay_rows group by 1 order by 1"
    ).fetchall()
    con.execute(f"delete from {table} where rowid in (select row_id from replay_rows)")
    return [apply.StepResult(rule_id, table, "delete", int(rows), int(rows))
            for rule_id, rows in counts]


def _record_kept_authors(con: duckdb.DuckDBPyConnection) -> int:
    """After the replay: a re-erased author whose name was kept again gets their new
    surrogate on the list, so later reports by them are re-keyed to it."""
    return con.execute(
        """
        update audit.erasure_suppressions as listed
        set surrogate_id = run_subjects.surrogate_id
        from run_subjects
        where listed.subject_kind = 'employee' and run_subjects.subject_kind = 'employee'
            and listed.organisation_id = run_subjects.organisation_id
            and listed.subject_token = run_subjects.subject_token
            and listed.surrogate_id is distinct from run_subjects.surrogate_id
            and exists (
                select 1 from raw.employees as kept
                where kept.organisation_id = run_subjects.organisation_id
                    and kept.employee_id = run_subjects.surrogate_id
                    and (kept.forename is not null or kept.surname is not null)
            )
        """
    ).fetchone()[0]


def restore(taken_on: dt.date, today: dt.date | None = None) -> RestoreResult:
    """Replace the warehouse with the backup of ``taken_on`` and re-erase what was erased.

    One connection holds the live warehouse's lock from before the audit trail is carried
    over until the restored file is in its place: a hold placed or an extract loaded by
    another process meanwhile waits (and then lands in the restored warehouse), never lands
    in the file about to be replaced.
    """
    backup = _find_backup(taken_on)
    db = warehouse.db_path()
    warehouse.secret()  # tokens need the key; fail before touching anything
    pending = db.with_name(db.name + ".restore")
    as_of = today or dt.date.today()
    result = apply.RunResult(run_id=str(uuid.uuid4()), as_of=as_of, dry_run=False)
    with storage.holding_warehouse_lock(db) as con:
        for leftover in (pending, pending.with_name(pending.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
        shutil.copyfile(backup.path, pending)
        (replaced,) = con.execute("select current_database()").fetchone()
        # the restored copy becomes the connection's default catalog: every statement below
        # reads and writes it, and reads the replaced warehouse only by its catalog name
        con.execute("attach ? as tt_restored", [str(pending)])
        con.execute("use tt_restored")
        try:
            carried = _restore_into(con, replaced, as_of, result)
        finally:
            con.execute(f'use "{replaced}"')
            con.execute("detach tt_restored")
        storage.swap_in_locked(db, pending)
    apply.finish_physical_erasure(as_of, db)
    return RestoreResult(backup=backup, replay=result, carried_over=carried)


def _restore_into(con: duckdb.DuckDBPyConnection, replaced: str, as_of: dt.date,
                  result: apply.RunResult) -> dict[str, int]:
    """Carry the audit trail over into the restored catalog (``con``'s default) and erase
    again everyone on the suppression list; returns the rows carried over per table."""
    apply.ensure_run_tables(con)
    carried = _carry_over_audit(con, replaced)
    for table, rows in _carry_over_ledger(con).items():
        carried[table] = carried.get(table, 0) + rows
    suppression.unlink_anonymised(con)  # rows carried over from an older ledger
    warehouse.bind_secret(con)

    def prepare() -> None:
        _erased_subjects_found_again(con)
        apply.steps_from_subjects(con, as_of)
        result.steps += _replay_rows(
            con, "raw.setup_imports",
            suppression.setup_row_key("import_id", "row_number"), ("setup_import",))
        result.steps += _replay_rows(
            con, "raw.quarantine",
            suppression.quarantine_row_key("load_id", "file_name", "line_number"),
            suppression.PERSON_KINDS)

    apply.apply_in_transaction(con, result, prepare, requested_by=REPLAY_REQUESTED_BY,
                               record_suppressions=False)
    _record_kept_authors(con)
    return carried
