"""Where the warehouse lives, how to open it, and the tables that dbt does not own.

DuckDB allows one writer per file, so every writer goes through :func:`connect`, which waits a
little for a lock held by another process and then fails with a message naming the file,
instead of DuckDB's raw IO error. The raw landing tables, the quarantine, the load log and the
audit tables are created here (not by dbt) because the loader and the retention runs write to
them and dbt only reads them as sources.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from orchestration.contract import LANDING_FILES, LandingFile
from orchestration.errors import TinyTrackerError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_DIR / "seeds"
DEFAULT_DB = "warehouse/tinytracker.duckdb"
DB_ENV = "TINYTRACKER_DB"
LOCK_WAIT_ENV = "TINYTRACKER_LOCK_WAIT_SECONDS"
MEMORY_LIMIT_ENV = "TINYTRACKER_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"  # DuckDB spills past it; profiles.yml reads the same variable

SQL_TYPES = {"text": "varchar", "date": "date", "boolean": "boolean", "integer": "bigint"}

# Tables whose subjects are anonymised in place carry when and by which rule.
ANONYMISED_TABLES = ("pupils", "employees")


def db_path() -> Path:
    """The warehouse file: env ``TINYTRACKER_DB`` (relative to the project) or the default."""
    path = Path(os.environ.get(DB_ENV, DEFAULT_DB))
    if not path.is_absolute():
        path = PROJECT_DIR / path
    return path


def duckdb_config() -> dict[str, str]:
    """Settings every warehouse connection uses (dbt's profile sets the same)."""
    return {"memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)}


def connect(path: Path | None = None, *, read_only: bool = False,
            wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting briefly if another process holds DuckDB's write lock."""
    path = path or db_path()
    if read_only and not path.exists():
        raise TinyTrackerError(f"no warehouse at {path}: load an extract first (tinytracker load)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if wait_seconds is None:
        wait_seconds = float(os.environ.get(LOCK_WAIT_ENV, "10"))
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=duckdb_config())
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise TinyTrackerError(f"cannot open warehouse {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise TinyTrackerError(
                    f"warehouse {path} is locked by another process (DuckDB allows one writer); "
                    f"waited {wait_seconds:.0f}s. Wait for the running load, build or retention "
                    "run to finish, then try again."
                ) from exc
            time.sleep(0.5)


# Columns a retention run writes on anonymised subjects, beside the contract columns:
# when and by which rule, and what the spec keeps that anonymisation would otherwise clear
# (the birth cohort: start year of the academic year of birth, set before date_of_birth is
# cleared). Added to an older warehouse's table on the next ensure_schema.
RETENTION_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "pupils": (("birth_academic_year", "bigint"), ("anonymised_on", "date"),
               ("anonymised_by_rule_id", "varchar")),
    "employees": (("anonymised_on", "date"), ("anonymised_by_rule_id", "varchar")),
}


def raw_table_ddl(landing_file: LandingFile) -> str:
    """``create table`` for one landing file: contract columns typed, then bookkeeping.

    For the anonymised tables it is followed by ``alter table ... add column if not exists``
    for the retention columns, so a warehouse created before a column existed gets it.
    """
    columns = [f"{c.name} {SQL_TYPES[c.type]}" for c in landing_file.columns]
    retention_columns = RETENTION_COLUMNS.get(landing_file.name, ())
    columns += [f"{name} {sql_type}" for name, sql_type in retention_columns]
    columns += [
        "_extra json",  # columns beyond the contract, kept as given
        "_load_id varchar",  # the load that last inserted or changed the row
        "_loaded_at timestamp",
    ]
    body = ",\n    ".join(columns)
    statements = [f"create table if not exists raw.{landing_file.name} (\n    {body}\n)"]
    statements += [
        f"alter table raw.{landing_file.name} add column if not exists {name} {sql_type}"
        for name, sql_type in retention_columns
    ]
    return ";\n".join(statements)


BOOKKEEPING_DDL: tuple[str, ...] = (
    """create table if not exists raw.quarantine (
        load_id varchar not null,
        file_name varchar not null,
        line_number bigint,
        rule varchar not null,
        detail varchar,
        organisation_id varchar,
        raw_values json,
        quarantined_at timestamp not null
    )""",
    """create table if not exists raw.load_log (
        load_id varchar not null,
        extract_path varchar not null,
        file_name varchar not null,
        file_checksum varchar,
        rows_read bigint,
        rows_inserted bigint,
        rows_updated bigint,
        rows_unchanged bigint,
        rows_quarantined bigint,
        rows_refused bigint,
        rows_suppressed bigint,
        status varchar not null,
        loaded_at timestamp not null
    )""",
    # Subjects a retention run or an erasure request has anonymised or deleted. The loader
    # drops incoming rows for them so a later extract cannot bring them back. The token is a
    # keyed SHA-256 (secret from the environment) so the list holds no plain identifier.
    # surrogate_id never links the token to kept rows (orchestration/rights/suppression.py):
    # null for a subject anonymised in place (pupil, employee), a random id that nothing kept
    # carries for a deleted subject (shown in retention_status), and the kept row's surrogate
    # only for an employee whose name the policy keeps as a report author (that row is not
    # anonymous, and the loader re-keys new reports by them to it).
    """create table if not exists audit.erasure_suppressions (
        subject_kind varchar not null,
        organisation_id varchar not null,
        subject_token varchar not null,
        surrogate_id varchar,
        rule_id varchar not null,
        actioned_on date not null,
        run_id varchar not null
    )""",
    # Further keyed tokens of an erased person's identifiers (UPN, name and date of birth,
    # teacher number, email, ...), so the loader recognises a later setup-import row that
    # names them without an MIS id. subject_token ties them to the person's row above; no
    # surrogate, no plain value.
    """create table if not exists audit.erasure_identifiers (
        subject_kind varchar not null,
        organisation_id varchar not null,
        subject_token varchar not null,
        identifier varchar not null,
        identifier_token varchar not null,
        run_id varchar not null
    )""",
    # Append-only audit of every retention run, dry runs included: counts per rule and table,
    # never a name, MIS id or UPN.
    """create table if not exists audit.retention_log (
        run_id varchar not null,
        as_of date not null,
        rule_id varchar not null,
        table_name varchar not null,
        action varchar not null,
        rows_affected bigint not null,
        is_dry_run boolean not null,
        started_at timestamp not null,
        finished_at timestamp not null,
        backups_clear_on date,
        requested_by varchar
    )""",
    # Legal holds: while a hold stands, no retention run deletes or anonymises the held
    # organisation (subject_kind 'organisation', subject_id null) or subject.
    """create table if not exists audit.legal_holds (
        hold_id varchar not null,
        organisation_id varchar not null,
        subject_kind varchar not null,
        subject_id varchar,
        reason varchar not null,
        placed_by varchar not null,
        placed_at timestamp not null,
        released_by varchar,
        released_at timestamp
    )""",
    # Data-subject requests (access and erasure; orchestration/rights): dates and outcome only.
    # No subject id, name or UPN: the request id ties the row to the bundle handed to the
    # controller or, for an erasure, to its retention run. ``reason`` is the controller's reason
    # for an erasure, refused when it names the person (see rights/erasure.py).
    """create table if not exists audit.subject_requests (
        request_id varchar not null,
        request_kind varchar not null,
        subject_kind varchar not null,
        organisation_id varchar not null,
        received_on date not null,
        due_on date not null,
        completed_on date,
        status varchar not null,
        run_id varchar,
        reason varchar,
        handled_by varchar not null,
        recorded_at timestamp not null
    )""",
    # Changes the CLI makes to an organisation outside any extract (early anonymisation request,
    # MIS permission revoked or granted): old and new value, who and when. No personal data.
    """create table if not exists audit.organisation_changes (
        change_id varchar not null,
        organisation_id varchar not null,
        change varchar not null,
        column_name varchar not null,
        old_value varchar,
        new_value varchar,
        changed_by varchar not null,
        changed_at timestamp not null
    )""",
    # Every export of a trust's marts (tinytracker share trust): organisations and files only.
    """create table if not exists audit.shares (
        share_id varchar not null,
        trust_id varchar not null,
        organisation_ids varchar[] not null,
        excluded_organisation_ids varchar[] not null,
        files varchar[] not null,
        rows_exported bigint not null,
        members_as_of date,
        exported_by varchar not null,
        exported_at timestamp not null
    )""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and the non-dbt tables if they are missing (idempotent)."""
    for schema in ("raw", "audit"):
        con.execute(f"create schema if not exists {schema}")
    for landing_file in LANDING_FILES:
        con.execute(raw_table_ddl(landing_file))
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)
    _unlink_old_suppressions(con)


def _unlink_old_suppressions(con: duckdb.DuckDBPyConnection) -> None:
    """One-off migration of a suppression list written before surrogate_id could be null.

    Such a list held every anonymised subject's surrogate beside its token, which links the
    kept rows back to the person for anyone holding the secret. Drop the constraint and clear
    those surrogates (orchestration.rights.suppression.unlink_anonymised), and rewrite the
    erasure ledger's copies the same way.
    """
    not_null = con.execute(
        "select count(*) from duckdb_columns() where schema_name = 'audit' "
        "and table_name = 'erasure_suppressions' and column_name = 'surrogate_id' "
        "and not is_nullable"
    ).fetchone()[0]
    if not not_null:
        return
    from orchestration.rights import suppression  # imports this module

    con.execute("alter table audit.erasure_suppressions alter column surrogate_id drop not null")
    suppression.unlink_anonymised(con)
    suppression.scrub_ledger(con)


SECRET_ENV = "TINYTRACKER_SECRET"


def secret() -> str:
    """The project key for suppression tokens; never stored in the repo or the warehouse."""
    value = os.environ.get(SECRET_ENV, "")
    if len(value) < 16:
        raise TinyTrackerError(
            f"set {SECRET_ENV} to a random secret of at least 16 characters (e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`); it keys the erasure "
            "suppression list and must stay the same across runs"
        )
    return value


def bind_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Make the secret available to SQL as ``getvariable('tt_secret')`` without inlining it."""
    con.execute("set variable tt_secret = ?", [secret()])


def subject_token_sql(kind: str, organisation_id: str, subject_id: str) -> str:
    """SQL for a subject's suppression token; arguments are SQL expressions.

    Call :func:`bind_secret` on the connection first.

    The token is SHA-256 over the secret, kind, organisation and id (a keyed hash), not an
    HMAC: DuckDB has no HMAC function, and building one from ``sha256`` in SQL would change
    every token already on the list (so every erased subject would come back on the next
    load). The keyed hash is adequate for what the token does: without the secret (at least
    16 characters, never stored) no id can be tested against a token, and the weakness HMAC
    exists to avoid, length extension, only lets someone forge the token of a longer message,
    which identifies nobody and could only add a suppression they would need write access to
    the warehouse to store. With the secret, an id can be tested against the list by design:
    that is how the loader recognises a returning subject.
    """
    return (
        "sha256(getvariable('tt_secret') || '|' || "
        f"{kind} || '|' || {organisation_id} || '|' || {subject_id})"
    )
