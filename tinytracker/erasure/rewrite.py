"""Physical erasure: the warehouse file rewritten so no erased value survives in its bytes.

DuckDB's DELETE and UPDATE leave old values in the file's free blocks, so an applied run is
not finished until the file is rewritten (:func:`tinytracker.core.files.rebuild`). Derived
relations must be rebuilt from the erased data first (they hold copies too); that is the
caller's step (dbt run, publish), between :func:`pending_runs` and :func:`rewrite`. A run
interrupted anywhere on that path stays pending (``physically_erased_at`` null) and is
finished by the next command that finishes erasures.
"""

from __future__ import annotations

from pathlib import Path

from tinytracker.core import files, progress
from tinytracker.core.paths import db_path
from tinytracker.core.schema import ensure_schema
from tinytracker.core.warehouse import connect
from tinytracker.erasure.ledger import sync_ledger


def pending_runs(db: Path | None = None) -> list[str]:
    """Applied runs whose erasure is not yet physical, oldest first; their ledger is written
    now (it needs no rewrite, and a lost file must not lose the record of an erasure)."""
    con = connect(db or db_path())
    try:
        ensure_schema(con)
        pending = [
            run_id
            for (run_id,) in con.execute(
                "select run_id from audit.retention_runs where outcome = 'applied' "
                "and not is_dry_run and physically_erased_at is null order by started_at"
            ).fetchall()
        ]
        if pending:
            sync_ledger(con)
    finally:
        con.close()
    return pending


def rewrite(run_ids: list[str], db: Path | None = None) -> None:
    """Rewrite the file (derived relations already rebuilt) and mark ``run_ids`` physical."""
    db = db or db_path()
    with progress.task("rewriting the warehouse file so no erased value remains in it"):
        files.rebuild(db)
    con = connect(db)
    try:
        con.execute(
            "update audit.retention_runs set physically_erased_at = current_timestamp "
            "where run_id in (select unnest(?))",
            [run_ids],
        )
    finally:
        con.close()
