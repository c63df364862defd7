"""The tables dbt does not own: raw landing tables, quarantine, load log and the audit trail.

They are created here (not by dbt) because the loader and the erasure engine write to them and
dbt only reads them as sources. :func:`ensure_schema` is idempotent and adds columns that a
warehouse created by an older version lacks.
"""

from __future__ import annotations

import duckdb

from tinytracker.core.contract import LANDING_FILES, LandingFile

SQL_TYPES = {"text": "varchar", "date": "date", "boolean": "boolean", "integer": "bigint"}

# Tables whose subjects are anonymised in place carry when and by which rule.
ANONYMISED_TABLES = ("pupils", "employees")


# Columns a retention run writes on anonymised subjects, beside the contract columns:
# when and by which rule, and what the spec keeps that anonymisation would otherwise clear
# (the birth cohort: start year of the academic year of birth, set before date_of_birth is
# cleared). Added to an older warehouse's table on the next ensure_schema.
RETENTION_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "pupils": (
        ("birth_academic_year", "bigint"),
        ("anonymised_on", "date"),
        ("anonymised_by_rule_id", "varchar"),
    ),
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
    # surrogate_id never links the token to kept rows (tinytracker/erasure/suppression.py):
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
    # One row per retention run (dry runs, erasure requests and restore replays included):
    # counts, dates and who asked; physically_erased_at says when the file was rewritten.
    """create table if not exists audit.retention_runs (
        run_id varchar not null,
        as_of date not null,
        is_dry_run boolean not null,
        requested_by varchar not null,
        outcome varchar not null,
        subjects_affected bigint not null,
        rows_affected bigint not null,
        started_at timestamp not null,
        finished_at timestamp not null,
        backups_clear_on date,
        physically_erased_at timestamp
    )""",
    # The token key of the suppression list, wrapped under the secret (tinytracker/core/
    # secret.py): one row; a check value refuses a different secret. No plain key or secret.
    """create table if not exists audit.token_key (
        key_check varchar not null,
        check_salt varchar not null,
        wrapped_key varchar not null,
        wrap_salt varchar not null,
        wrapped_at timestamp not null
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
        released_at timestamp,
        ticket varchar
    )""",
    # Data-subject requests (access and erasure; tinytracker/rights): dates and outcome only.
    # No subject id, name or UPN: the request id ties the row to the bundle handed to the
    # controller or, for an erasure, to its retention run. ``reason`` is the controller's reason
    # for an erasure, refused when it names the person (see tinytracker/rights/erasure.py).
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
        recorded_at timestamp not null,
        ticket varchar
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
    # Every export of a trust's marts (tinytracker share --trust): organisations and files only.
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


ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("audit.subject_requests", "ticket", "varchar"),
    ("audit.legal_holds", "ticket", "varchar"),
)
"""Columns added after a table first shipped: added to an older warehouse's table on open."""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and the non-dbt tables if they are missing (idempotent)."""
    for schema in ("raw", "audit"):
        con.execute(f"create schema if not exists {schema}")
    for landing_file in LANDING_FILES:
        con.execute(raw_table_ddl(landing_file))
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)
    for table, column, sql_type in ADDED_COLUMNS:
        con.execute(f"alter table {table} add column if not exists {column} {sql_type}")
