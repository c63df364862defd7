"""The erasure ledger: each applied run's audit rows copied beside the backups, never pruned.

If the warehouse file itself is lost, a restore from a backup still knows every erasure made
since that backup (tokens and counts only: no plain identifier is written here).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from tinytracker.core.paths import backup_dir
from tinytracker.core.warehouse import scalar
from tinytracker.erasure import suppression

LEDGER_TABLES = ("erasure_suppressions", "erasure_identifiers", "retention_log", "retention_runs")
TOKEN_KEY_FILE = "token_key.parquet"
"""The wrapped token key (audit.token_key): a restore after losing the warehouse needs it to
recognise anyone on the ledger. Wrapped under the secret, like in the warehouse."""


def ledger_dir() -> Path:
    """``erasure-ledger/`` in the backups folder."""
    return backup_dir() / "erasure-ledger"


def clean_leftovers() -> int:
    """Remove ledger files a killed sync left half-written (``*.partial``: tokens and counts
    only); returns how many. The next sync writes them again."""
    directory = ledger_dir()
    if not directory.is_dir():
        return 0
    removed = 0
    for leftover in directory.glob("*.partial"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def write_token_key(con: duckdb.DuckDBPyConnection) -> None:
    """Copy the current wrapped token key into the ledger (replacing the previous copy)."""
    if not con.execute("select count(*) from audit.token_key").fetchall()[0][0]:
        return
    directory = ledger_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / TOKEN_KEY_FILE
    pending = target.with_name(target.name + ".partial")
    con.execute(f"copy audit.token_key to '{_path_literal(pending)}' (format parquet)")
    os.replace(pending, target)


def sync_ledger(con: duckdb.DuckDBPyConnection) -> int:
    """Write the ledger files of applied runs that have none yet; returns how many runs."""
    directory = ledger_dir()
    runs = [
        str(run_id)
        for (run_id,) in con.execute(
            "select run_id from audit.retention_runs where not is_dry_run and outcome = 'applied'"
        ).fetchall()
    ]
    written = 0
    for run_id in runs:
        uuid.UUID(run_id)  # run ids are uuids we made; never interpolate anything else
        if all((directory / f"{run_id}.{table}.parquet").exists() for table in LEDGER_TABLES):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        for table in LEDGER_TABLES:
            target = directory / f"{run_id}.{table}.parquet"
            pending = target.with_name(target.name + ".partial")
            con.execute(
                f"copy (select * from audit.{table} where run_id = '{run_id}') "
                f"to '{pending}' (format parquet)"
            )
            os.replace(pending, target)
        written += 1
    if written:
        write_token_key(con)
    return written


def scrub_ledger(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite erasure-ledger files whose rows still link a token to an anonymous record.

    A ledger row keeps its surrogate only where the warehouse's own row (same run, kind,
    organisation and token) still has one. Returns the files rewritten.
    """
    directory = ledger_dir()
    rewritten = 0
    for path in sorted(directory.glob("*.erasure_suppressions.parquet")):
        source = f"read_parquet('{_path_literal(path)}')"
        keep = """exists (
            select 1 from audit.erasure_suppressions as own
            where own.run_id = ledger.run_id and own.subject_kind = ledger.subject_kind
                and own.organisation_id = ledger.organisation_id
                and own.subject_token = ledger.subject_token
                and own.surrogate_id is not distinct from ledger.surrogate_id
        )"""
        linking = scalar(
            con,
            f"select count(*) from {source} as ledger where ledger.surrogate_id is not null "
            f"and ledger.subject_kind in {suppression.ANONYMISED_KINDS} and not {keep}",
        )
        if not linking:
            continue
        pending = path.with_name(path.name + ".partial")
        con.execute(
            f"copy (select ledger.* replace (case when ledger.subject_kind in "
            f"{suppression.ANONYMISED_KINDS} and not {keep} then null else ledger.surrogate_id end "
            f"as surrogate_id) from {source} as ledger) "
            f"to '{_path_literal(pending)}' (format parquet)"
        )
        os.replace(pending, path)
        rewritten += 1
    return rewritten


def _path_literal(path: object) -> str:
    return str(path).replace("'", "''")
