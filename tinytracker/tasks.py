"""What one command does end to end, shared by the CLI and Dagster.

The library's packages each do one thing; some user-facing tasks need several of them in a
fixed order. An erasure (a retention apply, an erasure request, a restore replay) is finished
only when every copy of the erased values is gone: the dbt models derived from ``raw.*`` are
rebuilt, the analyst copy is republished from them, and then the warehouse file is rewritten
(:mod:`tinytracker.erasure.rewrite`). The engine does not call dbt or publish; the functions
here do, before a new erasure (an interrupted earlier one is finished first) and after it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tinytracker.backup import snapshots
from tinytracker.backup.restore import RestoreResult, restore
from tinytracker.core import faults, files
from tinytracker.core import secret as secret_module
from tinytracker.core.dates import parse_date
from tinytracker.core.dbt import run_dbt, run_dbt_build
from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.paths import db_path
from tinytracker.core.schema import ensure_schema
from tinytracker.core.warehouse import connect
from tinytracker.erasure import ledger, rewrite
from tinytracker.erasure.result import RunResult, action_date
from tinytracker.publishing import publish
from tinytracker.publishing.publish import PublishResult, publish_marts
from tinytracker.retention.run import refuse_future_apply, run_retention
from tinytracker.rights.erasure import ErasureResult, erase_subject


def clean_leftovers(db: Path | None = None) -> None:
    """Finish off what a killed command left beside the warehouse, before this one starts: a
    half-made rebuild or restore copy and an unshredded old file (shredded: they hold personal
    data), a half-written backup (shredded), ledger file or analyst copy (removed). Call it
    holding the command lock; an interrupted erasure itself is finished by
    :func:`finish_erasure`."""
    db = db or db_path()
    if db.exists():
        files.cleanup_interrupted_rebuild(db)
    snapshots.clean_leftovers()
    ledger.clean_leftovers()
    publish.clean_leftovers()


def check_secret(db: Path | None = None) -> None:
    """Refuse a secret that is not the warehouse's before a task changes anything."""
    db = db or db_path()
    if not db.exists():
        return
    con = connect(db)
    try:
        ensure_schema(con)
        secret_module.check_secret(con)
    finally:
        con.close()


def finish_erasure(as_of: dt.date | None, db: Path | None = None) -> list[str]:
    """Rebuild derived models, republish, then rewrite the file for every applied run whose
    erasure is not yet physical; returns the run ids it finished (empty: nothing pending)."""
    db = db or db_path()
    pending = rewrite.pending_runs(db)
    if not pending:
        return []
    faults.reached("finish.pending")
    # models only (no tests): erasure must not wait on an unrelated failing data test
    if run_dbt(as_of, command="run") != 0:
        raise TinyTrackerError(
            "dbt run after the erasure failed, so derived tables may still hold erased "
            "identifiers; the file was not rewritten. Fix the build and run `tinytracker "
            "retention apply` again to finish."
        )
    faults.reached("finish.rebuilt")
    publish_marts()
    faults.reached("finish.published")
    rewrite.rewrite(pending, db)
    return pending


def apply_retention(
    as_of: str | dt.date | None, *, dry_run: bool, requested_by: str = "cli", build: bool = True
) -> RunResult:
    """``tinytracker retention plan|apply``: an apply finishes interrupted erasures first,
    then applies the plan and finishes its own erasure."""
    finished: list[str] = []
    if not dry_run:
        as_of = parse_date(as_of, "--as-of") or action_date()
        refuse_future_apply(as_of)
        check_secret()  # a missing or different secret fails before any work
        finished = finish_erasure(as_of)
    result = run_retention(as_of, dry_run=dry_run, requested_by=requested_by, build=build)
    result.finished_earlier_runs = len(finished)
    if result.steps and not dry_run:
        result.physically_erased = bool(finish_erasure(result.as_of))
    return result


def erase(
    kind: str,
    organisation_id: str,
    subject_id: str,
    reason: str,
    *,
    apply_changes: bool = False,
    as_of: dt.date | None = None,
    received_on: dt.date | None = None,
    keep_setup_imports: bool = False,
    handled_by: str | None = None,
) -> ErasureResult:
    """``tinytracker erase``: one person erased on request, the erasure finished physically."""
    if apply_changes:
        check_secret()
        finish_erasure(as_of)  # an interrupted earlier run comes first
    result = erase_subject(
        kind,
        organisation_id,
        subject_id,
        reason,
        apply_changes=apply_changes,
        as_of=as_of,
        received_on=received_on,
        keep_setup_imports=keep_setup_imports,
        handled_by=handled_by,
    )
    if apply_changes:
        result.run.physically_erased = bool(finish_erasure(result.run.as_of))
    return result


def restore_backup(taken_on: dt.date, today: dt.date | None = None) -> RestoreResult:
    """``tinytracker backup restore``: swap the backup in, erased people erased again, and
    the replay finished physically like any erasure."""
    check_secret()
    result = restore(taken_on, today)
    result.replay.physically_erased = bool(finish_erasure(result.replay.as_of))
    return result


def build(
    as_of: str | dt.date | None = None, select: list[str] | None = None, *, unit_tests: bool = False
) -> tuple[int, PublishResult | None]:
    """``tinytracker build``: dbt build, then, after a full build that passed, republish the
    analyst copy. Returns dbt's exit code and what was published."""
    status = run_dbt_build(as_of, select, unit_tests=unit_tests)
    if status == 0 and not select:
        return status, publish_marts()
    return status, None
