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
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from tinytracker.backup import snapshots
from tinytracker.backup.restore import RestoreResult, restore
from tinytracker.core import faults, files, progress
from tinytracker.core import secret as secret_module
from tinytracker.core.bytescan import values_in_files
from tinytracker.core.dates import TIMEZONE, parse_date
from tinytracker.core.dbt import failed_nodes, run_dbt, run_dbt_build
from tinytracker.core.errors import FailedError
from tinytracker.core.paths import db_path
from tinytracker.core.schema import ensure_schema
from tinytracker.core.warehouse import connect
from tinytracker.erasure import ledger, rewrite
from tinytracker.erasure.coincidence import explained_without_a_copy, numbers_copied_outside_raw
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


# What finishing an erasure rebuilds: every table and incremental model (the only relations
# that hold copies of raw rows) with the views they read, and the views whose SQL embeds the
# evaluation date (dbt tag as_of), which must keep agreeing with retention_status's. The other
# views (the DPO's reporting, the trust shares) hold nothing and read what is below them live:
# re-creating them changed nothing and was a quarter of the run (5.0 s -> 3.7 s, 1,000 pupils).
FINISH_SELECTORS = ("+config.materialized:table", "+config.materialized:incremental", "tag:as_of")


def finish_erasure(as_of: dt.date | None, db: Path | None = None) -> list[str]:
    """Rebuild derived models, republish, then rewrite the file for every applied run whose
    erasure is not yet physical; returns the run ids it finished (empty: nothing pending)."""
    db = db or db_path()
    pending = rewrite.pending_runs(db)
    if not pending:
        return []
    faults.reached("finish.pending")
    # models only (no tests): erasure must not wait on an unrelated failing data test
    progress.note("dbt: rebuilding every model derived from the erased rows")
    if run_dbt(as_of, list(FINISH_SELECTORS), command="run") != 0:
        raise FailedError(
            f"the erasure of {len(pending)} run(s) is committed, but the dbt run that rebuilds "
            "what is derived from it failed, so derived tables may still hold erased values and "
            "the file was not rewritten: recorded as pending (audit.retention_runs."
            "physically_erased_at is null). Fix the build; the next `tinytracker retention "
            "apply`, erasure or restore finishes it first."
        )
    faults.reached("finish.rebuilt")
    publish_marts()
    faults.reached("finish.published")
    rewrite.rewrite(pending, db)
    return pending


def scan_for_erased(result: RunResult, db: Path | None = None) -> None:
    """Look for the run's erased values in the bytes of the rewritten file (and any WAL).

    Sets ``bytes_checked`` when none is found; raises when one is, because then the promise
    that nothing erased remains is not kept and the operator must know. Values made of digits
    only (7-digit teacher numbers) are looked for in every table instead: the bytes cannot
    prove them absent, since at 100,000 pupils each occurs by chance among the stored phone
    numbers and ids (:mod:`tinytracker.erasure.coincidence`).
    """
    db = db or db_path()
    values = list(dict.fromkeys(result.erased_values))
    if not values:
        return
    numbers = [value for value in values if value.isdigit()]
    texts = [value for value in values if not value.isdigit()]
    # one pass over the bytes for all the values (tinytracker.core.bytescan)
    in_bytes = values_in_files((db, db.with_name(db.name + ".wal")), texts)
    found = [value for value in texts if value in in_bytes]
    # a kept row may hold one (a shared phone), or its bytes occur by chance (module docstring)
    still_held = explained_without_a_copy(db, found)
    found = [value for value in found if value not in still_held]
    found += sorted(numbers_copied_outside_raw(db, numbers))
    if found:
        raise FailedError(
            f"the rewritten warehouse file still holds {len(found)} of the {len(values)} "
            f"values the run erased: the erasure is not physical yet. Nothing more was "
            "changed; report it with the run id "
            f"{result.run_id}."
        )
    result.bytes_checked = len(texts) - len(still_held)
    result.numbers_checked = len(numbers)


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
        if result.physically_erased:
            scan_for_erased(result)
    return result


def erase(
    kind: str,
    organisation_id: str,
    subject_id: str,
    reason: str,
    *,
    ticket: str | None = None,
    apply_changes: bool = False,
    as_of: dt.date | None = None,
    received_on: dt.date | None = None,
    keep_setup_imports: bool = False,
    handled_by: str | None = None,
    rewrite_now: bool = False,
) -> ErasureResult:
    """``tinytracker erase``: one person erased on request.

    The request changes the person's rows in ``raw.*`` and deletes their derived rows in one
    transaction (:mod:`tinytracker.erasure.derived`), and stops there: rebuilding every
    derived model, republishing and rewriting the whole file for one person is queued to the
    next nightly retention run (:func:`next_nightly_run`), which finishes every pending run
    first. ``rewrite_now`` finishes it at once instead, with the byte scan.
    """
    if apply_changes:
        check_secret()
        if rewrite_now:
            finish_erasure(as_of)  # an interrupted or queued earlier run comes first
    result = erase_subject(
        kind,
        organisation_id,
        subject_id,
        reason,
        ticket=ticket,
        apply_changes=apply_changes,
        as_of=as_of,
        received_on=received_on,
        keep_setup_imports=keep_setup_imports,
        handled_by=handled_by,
    )
    if apply_changes and rewrite_now:
        result.run.physically_erased = bool(finish_erasure(result.run.as_of))
        if result.run.physically_erased:
            scan_for_erased(result.run)
    elif apply_changes:
        rewrite.pending_runs()  # writes the run's ledger now: a lost file keeps the record
        result.run.rewrite_due = next_nightly_run()
    return result


NIGHTLY_RUN = dt.time(2, 0)
"""When the scheduled retention apply starts (London): orchestration's retention_apply_schedule.
It finishes every pending erasure before its own work (:func:`apply_retention`)."""


def next_nightly_run(now: dt.datetime | None = None) -> dt.datetime:
    """The next start of the nightly retention run after ``now`` (London, naive)."""
    now = now or dt.datetime.now(ZoneInfo(TIMEZONE)).replace(tzinfo=None)
    today_run = dt.datetime.combine(now.date(), NIGHTLY_RUN)
    return today_run if now < today_run else today_run + dt.timedelta(days=1)


def restore_backup(taken_on: dt.date, today: dt.date | None = None) -> RestoreResult:
    """``tinytracker backup restore``: swap the backup in, erased people erased again, and
    the replay finished physically like any erasure."""
    check_secret()
    result = restore(taken_on, today)
    result.replay.physically_erased = bool(finish_erasure(result.replay.as_of))
    if result.replay.physically_erased:
        scan_for_erased(result.replay)
    return result


OVERDUE_TESTS = ("overdue_personal_data",)
"""Compliance tests whose failure says personal data is overdue: a fact about ``raw.*`` that a
retention apply fixes, not about the marts (which hold no personal data)."""


@dataclass
class BuildResult:
    """What ``tinytracker build`` did: dbt's exit code, what was published and, when personal
    data is overdue, per rule how much and since when (the fix is a retention apply)."""

    status: int
    published: PublishResult | None = None
    overdue: list[tuple[str, int, dt.date]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def build(
    as_of: str | dt.date | None = None,
    select: list[str] | None = None,
    *,
    unit_tests: bool = False,
    full_tests: bool = False,
) -> BuildResult:
    """``tinytracker build``: dbt build, then republish the analyst copy after a full build.

    A build whose only failures are the overdue-data tests still publishes: the marts hold no
    personal data and passed their own tests, and analysts should not lose a day's figures
    because a retention run is late. The result then names each rule with data overdue.
    """
    status = run_dbt_build(as_of, select, unit_tests=unit_tests, full_tests=full_tests)
    result = BuildResult(status)
    if status != 0:
        result.failed = failed_nodes()
    overdue_only = bool(result.failed) and all(
        any(name.startswith(test) for test in OVERDUE_TESTS) for name in result.failed
    )
    if overdue_only:
        result.overdue = overdue_by_rule()
    if not select and (status == 0 or overdue_only):
        result.published = publish_marts()
    return result


def overdue_by_rule(db: Path | None = None) -> list[tuple[str, int, dt.date]]:
    """Per rule: subjects due and not actioned (held ones excluded), and the oldest due date."""
    con = connect(db or db_path(), read_only=True)
    try:
        rows = con.execute(
            """
            select rule_id, count(*), min(due_on) from retention.retention_status
            where status = 'due' and is_winning_rule
            group by rule_id order by rule_id
            """
        ).fetchall()
    finally:
        con.close()
    return [(str(rule), int(count), due) for rule, count, due in rows]
