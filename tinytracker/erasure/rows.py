"""Rows erased on their own, not by subject: setup-import rows and quarantined rows.

An erasure request deletes only the rows of a setup import that name the person (other
people's rows sit beside them) and the quarantined rows that name them. The caller decides
which rows those are (temp tables, see :mod:`tinytracker.rights.erasure`); the engine deletes
them inside the run's transaction, reports them as steps and, when applying, suppresses each
row by its own key so a restore from a backup deletes it again.
"""

from __future__ import annotations

import duckdb

from tinytracker.core.warehouse import fetch_row, scalar
from tinytracker.erasure import suppression
from tinytracker.erasure.result import RunResult, StepResult


def erase_setup_rows(
    con: duckdb.DuckDBPyConnection, run: RunResult, listed: str, rule_id: str, *, record: bool
) -> None:
    """Delete the setup-import rows in temp table ``listed`` (organisation_id, import_id,
    row_number): never their whole import."""
    imports, rows = fetch_row(con, f"select count(distinct import_id), count(*) from {listed}")
    if rows:
        deleted = scalar(
            con,
            f"delete from raw.setup_imports as target using {listed} as erased "
            "where target.organisation_id = erased.organisation_id "
            "and target.import_id = erased.import_id and target.row_number = erased.row_number",
        )
        run.steps.append(
            StepResult(rule_id, "raw.setup_imports", "delete", int(imports), int(deleted))
        )
    if record:
        suppression.record_rows(
            con,
            listed,
            "setup_import",
            suppression.setup_row_key("import_id", "row_number"),
            rule_id,
            run.actioned_on,
            run.run_id,
        )


def erase_quarantined_rows(
    con: duckdb.DuckDBPyConnection,
    run: RunResult,
    listed: str,
    subject_kind: str,
    rule_id: str,
    *,
    record: bool,
) -> None:
    """Delete the quarantined rows in temp table ``listed`` (organisation_id, load_id,
    file_name, line_number, row_id), suppressed under the person's kind."""
    rows = scalar(con, f"select count(*) from {listed}")
    if rows:
        deleted = scalar(
            con, f"delete from raw.quarantine where rowid in (select row_id from {listed})"
        )
        run.steps.append(StepResult(rule_id, "raw.quarantine", "delete", 1, int(deleted)))
    if record:
        suppression.record_rows(
            con,
            listed,
            subject_kind,
            suppression.quarantine_row_key("load_id", "file_name", "line_number"),
            rule_id,
            run.actioned_on,
            run.run_id,
        )
