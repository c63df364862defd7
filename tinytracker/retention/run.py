"""A scheduled retention run: build the plan for a date with dbt, then hand it to the engine.

A dry run (``tinytracker retention plan``) builds the retention models into schema
``retention_dry_run`` (so the DPO's ``retention.*`` relations keep showing the real date),
works out the steps exactly as an apply would (holds re-read) and changes nothing. An apply
builds the plan for ``as_of`` (today or earlier: a future date would erase people early) and
executes it in one transaction through :mod:`tinytracker.erasure`. Finishing the erasure (dbt
rebuild of derived models, analyst copy, file rewrite) is the caller's step:
:func:`tinytracker.tasks.apply_retention`.

Nothing here touches a row the plan does not name; the plan names only what a rule made due.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from tinytracker.core import progress
from tinytracker.core.dates import parse_date
from tinytracker.core.dbt import run_dbt
from tinytracker.core.errors import FailedError, RefusedError, TinyTrackerError
from tinytracker.core.paths import PROJECT_DIR, db_path
from tinytracker.core.secret import secret
from tinytracker.core.warehouse import connect, scalar
from tinytracker.erasure.result import RunResult, action_date
from tinytracker.erasure.steps import (
    PLAN_SCHEMA,
    plan_as_of,
    plan_relation,
    steps_from_plan,
    summarise_steps,
)
from tinytracker.erasure.transaction import (
    DRY_RUN_SCHEMA,
    apply_in_transaction,
    ensure_tables,
    log_run,
)

# Everything a retention run reads or writes, so a plan can be refreshed for a date without
# building the marts; the full build after an apply refreshes the rest.
PLAN_SELECTORS = ("+retention_plan", "+retention_status")
# A dry run rebuilds only the date-dependent retention models; seeds and staging views do not
# depend on as_of and are read where they are.
DRY_RUN_SELECTORS = (
    "+retention_plan,path:models/retention",
    "+retention_status,path:models/retention",
)


def dry_run_target_path() -> Path:
    """Where a dry run's dbt build writes its manifest: beside, never over, the main one.

    dagster-dbt names assets after the schemas in target/manifest.json, so a manifest with
    the retention models in retention_dry_run must not replace it.
    """
    main = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    if not main.is_absolute():
        main = PROJECT_DIR / main
    return main / DRY_RUN_SCHEMA


def refuse_future_apply(as_of: dt.date, today: dt.date | None = None) -> None:
    """An apply erases what is due on ``as_of``: a date after today would erase people early."""
    today = today or action_date()
    if as_of > today:
        raise RefusedError(
            f"retention apply refused: as_of {as_of} is after today ({today}). An apply "
            "deletes and anonymises what is due on as_of, so a future date would erase people "
            "before the policy allows. Simulate it with a dry run instead: `tinytracker "
            f"retention plan --as-of {as_of}` (in Dagster: dry_run true)."
        )


def _build_plan(as_of: dt.date, dry_run: bool) -> str:
    """Build the retention models for ``as_of``; returns the schema holding the plan."""
    # the models and their data tests (the plan must match the statuses before anything
    # is applied); unit tests check SQL logic, not data, and run in every full build
    progress.note(f"dbt: building the retention models for {as_of} (parsing the project first)")
    if dry_run:
        status = run_dbt(
            as_of,
            list(DRY_RUN_SELECTORS),
            command="build",
            exclude=["test_type:unit"],
            extra_vars={"retention_schema": DRY_RUN_SCHEMA},
            target_path=dry_run_target_path(),
        )
        schema = DRY_RUN_SCHEMA
    else:
        status = run_dbt(as_of, list(PLAN_SELECTORS), command="build", exclude=["test_type:unit"])
        schema = PLAN_SCHEMA
    if status != 0:
        raise FailedError(
            f"dbt build of the retention models for {as_of} failed (exit {status}); "
            "nothing was changed"
        )
    return schema


def run_retention(
    as_of: str | dt.date | None, *, dry_run: bool, requested_by: str = "cli", build: bool = True
) -> RunResult:
    """Plan (dry run) or apply the retention work due on ``as_of``; see the module docstring.

    The warehouse is the one env ``TINYTRACKER_DB`` names, the same file dbt builds.
    """
    today = action_date()
    as_of_date = parse_date(as_of, "--as-of") or today
    if not dry_run:
        refuse_future_apply(as_of_date, today)
        secret()  # fail before any work when the suppression key is missing
    result = RunResult(
        run_id=str(uuid.uuid4()), as_of=as_of_date, dry_run=dry_run, actioned_on=today
    )
    schema = _build_plan(as_of_date, dry_run) if build else PLAN_SCHEMA
    relation = plan_relation(schema)
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = connect(db_path())
    try:
        ensure_tables(con)
        built_for = plan_as_of(con, relation)
        if built_for is not None and built_for != as_of_date:
            raise TinyTrackerError(
                f"{relation} was built for {built_for}, not {as_of_date}: rebuild it "
                f"(tinytracker build --as-of {as_of_date}) or drop --no-build"
            )
        if dry_run:
            # what an apply would do now: the same steps, holds re-read, nothing executed
            steps_from_plan(con, result, schema)
            result.steps = summarise_steps(con)
            result.subjects = scalar(con, "select count(*) from run_subjects")
            log_run(con, result, started_at, requested_by)
            return result
        apply_in_transaction(
            con, result, lambda: steps_from_plan(con, result, schema), requested_by
        )
    finally:
        con.close()
    return result
