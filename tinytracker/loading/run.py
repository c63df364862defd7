"""``load_extract``: one extract folder into schema ``raw``, in one transaction.

Order matters and follows the contract: organisations first (they decide which organisations
are refused and which are known), then pupils (they decide which pupil ids are known), then the
files that point at pupils. Each file is staged, checked and upserted before the next, so the
next file's checks see the warehouse *with* this extract's valid rows, and only one file's data
is held in memory at a time.

Any error rolls the whole load back: the warehouse is exactly as it was (load log included).
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tinytracker.core import faults, paths, progress, warehouse
from tinytracker.erasure.cohort import record_birth_cohorts
from tinytracker.erasure.transaction import ensure_tables
from tinytracker.loading.extract import ExtractFile, discover_extract
from tinytracker.loading.policy import (
    create_refused,
    prepare_suppressions,
    record_returning_people,
)
from tinytracker.loading.reference import create_reference
from tinytracker.loading.result import FileResult, LoadResult, RefusedOrganisation
from tinytracker.loading.stage import StagedFile, drop_stage, naive_value, stage_file
from tinytracker.loading.upsert import insert_quarantine, log_file, record_revocations, upsert
from tinytracker.loading.validate import check_file, drop_checks


def new_load_id(loaded_at: datetime) -> str:
    """Readable and unique: when, plus a random suffix for loads in the same second."""
    return f"{loaded_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def load_extract(path: Path, db: Path | None = None) -> LoadResult:
    """Load one extract folder into the warehouse (``db`` or ``TINYTRACKER_DB``).

    Raises :class:`~tinytracker.core.errors.TinyTrackerError` for input that fails the whole load
    (nothing changes). Refused organisations do not raise: they are listed in the result so
    the caller decides (the CLI exits 4, partial, after printing them).
    """
    folder = Path(path).resolve()
    files = discover_extract(folder)  # fails before the warehouse is opened
    db_file = db or paths.db_path()
    loaded_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    load_id = new_load_id(loaded_at)
    con = warehouse.connect(db_file)
    try:
        con.execute("set enable_progress_bar = false")  # output is the load report
        create_reference(con)
        con.execute("begin transaction")
        try:
            result = _load(con, files, folder, db_file, load_id, loaded_at)
            faults.reached("load.before_commit")
            con.execute("commit")
        except BaseException:
            try:
                con.execute("rollback")
            except duckdb.Error:
                pass  # a failed commit has already ended the transaction; keep its error
            raise
    finally:
        con.close()
    return result


def _load(
    con: duckdb.DuckDBPyConnection,
    files: list[ExtractFile],
    folder: Path,
    db_file: Path,
    load_id: str,
    loaded_at: datetime,
) -> LoadResult:
    ensure_tables(con)  # with the engine's migration of an older suppression list
    loaded_at_sql = f"timestamp '{loaded_at.isoformat(sep=' ')}'"
    suppressions = prepare_suppressions(con)

    organisations = next((f for f in files if f.name == "organisations"), None)
    staged_organisations: StagedFile | None = None
    if organisations is not None:
        staged_organisations = stage_file(con, organisations)
        naive = naive_value(organisations) if organisations.format == "csv" else None
        create_refused(con, True, naive)
    else:
        create_refused(con, False, None)

    results: list[FileResult] = []
    refused_rows: Counter[str] = Counter()
    revocations: list[str] = []
    with progress.task(f"loading {len(files)} file(s)", total=len(files), unit="files") as shown:
        for extract_file in files:
            shown.advance(0, f"{extract_file.display_name}: reading")
            results.append(
                _load_file(
                    con,
                    extract_file,
                    organisations,
                    staged_organisations,
                    suppressions,
                    load_id,
                    loaded_at,
                    loaded_at_sql,
                    folder,
                    refused_rows,
                    revocations,
                    shown,
                )
            )
            shown.advance(1, f"{extract_file.display_name}: {results[-1].read:,} rows")

    record_birth_cohorts(con)  # what anonymisation will keep of each date of birth
    names = dict(con.execute("select organisation_id, name from tt_refused").fetchall())
    refused = [
        RefusedOrganisation(org, names.get(org), rows) for org, rows in sorted(refused_rows.items())
    ]
    return LoadResult(load_id, folder, db_file, results, refused, revocations)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    extract_file: ExtractFile,
    organisations: ExtractFile | None,
    staged_organisations: StagedFile | None,
    suppressions: bool,
    load_id: str,
    loaded_at: datetime,
    loaded_at_sql: str,
    folder: Path,
    refused_rows: Counter[str],
    revocations: list[str],
    shown: progress.Task,
) -> FileResult:
    """Stage, check, quarantine and upsert one file; ``refused_rows`` and ``revocations``
    collect what the whole load reports; ``shown`` says which phase it is in."""
    if extract_file is organisations and staged_organisations is not None:
        staged = staged_organisations
    else:
        staged = stage_file(con, extract_file)
    shown.advance(0, f"{extract_file.display_name}: checking the rows")
    counts = check_file(con, staged, suppressions)
    shown.advance(0, f"{extract_file.display_name}: storing {counts.read:,} rows")
    if suppressions:
        # an erased person re-sent under a new id: the id goes on the list before the
        # files that refer to it (contacts, marks, results) are checked
        record_returning_people(con, extract_file.contract)
    quarantined = insert_quarantine(con, load_id, extract_file, loaded_at_sql)
    upserted = upsert(
        con, extract_file.contract, load_id, loaded_at_sql, counts.kept - quarantined.broken
    )
    if extract_file is organisations:
        revocations[:] = record_revocations(con, load_id, loaded_at_sql)
    refused_rows.update(counts.refused_by_organisation)
    file_result = FileResult(
        file_name=extract_file.display_name,
        landing_file=extract_file.name,
        checksum=extract_file.checksum,
        read=counts.read,
        inserted=upserted.inserted,
        updated=upserted.updated,
        unchanged=upserted.unchanged,
        quarantined=quarantined.total,
        refused=counts.refused,
        suppressed=counts.suppressed,
        already_quarantined=quarantined.already,
        quarantine_examples=quarantined.examples,
        quarantine_load_ids=tuple(
            sorted(
                {
                    *quarantined.earlier_load_ids,
                    *((load_id,) if quarantined.total > quarantined.already else ()),
                }
            )
        ),
    )
    log_file(con, load_id, folder, file_result, loaded_at)
    faults.reached("load.file")
    drop_checks(con)
    drop_stage(con)
    return file_result
