"""Plain functions behind the retention asset and its check (tested without Dagster).

- who asked for a run (the audit log's ``requested_by``), from the Dagster run's tags;
- what a run did, as metadata (counts only: never a name, MIS id or UPN);
- whether anything is still due after an apply (``nothing_overdue_after_apply``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from tinytracker.erasure.result import RunResult

STATUS_RELATION = "retention.retention_status"
SCHEDULE_TAG = "dagster/schedule_name"
SENSOR_TAG = "dagster/sensor_name"


def requested_by(run_id: str, tags: Mapping[str, str]) -> str:
    """``dagster schedule retention_apply_schedule run <id>`` or ``dagster launched run <id>``."""
    if SCHEDULE_TAG in tags:
        source = f"schedule {tags[SCHEDULE_TAG]}"
    elif SENSOR_TAG in tags:
        source = f"sensor {tags[SENSOR_TAG]}"
    else:
        source = "launched"
    return f"dagster {source} run {run_id}"


def retention_metadata(result: RunResult) -> dict[str, object]:
    """What the run did, per rule and table, plus what the check needs (as_of, dry_run)."""
    metadata: dict[str, object] = {
        "retention_run_id": result.run_id,
        "as_of": result.as_of.isoformat(),
        "dry_run": result.dry_run,
        "outcome": result.outcome,
        "subjects": result.subjects,
        "rows": result.rows,
        "physically_erased": result.physically_erased,
    }
    if not result.dry_run and result.steps:
        metadata["actioned_on"] = result.actioned_on.isoformat()
        metadata["backups_clear_on"] = result.backups_clear_on.isoformat()
    if result.skipped_on_hold:
        metadata["skipped_on_hold"] = result.skipped_on_hold
    if result.finished_earlier_runs:
        metadata["finished_earlier_runs"] = result.finished_earlier_runs
    for step in result.steps:
        metadata[f"rows.{step.rule_id}.{step.table_name}"] = step.rows
    return metadata


@dataclass(frozen=True)
class AfterApplyCheck:
    """The verdict of ``nothing_overdue_after_apply`` with its evidence (counts only)."""

    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def count_overdue(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, int]:
    """Subjects per rule still ``due`` (not actioned, not on hold) with due_on on or before as_of.

    No grace day: an apply for as_of acts on everything due by as_of, so whatever is left
    was missed (the 1-day grace belongs to the dbt test overdue_personal_data, which judges a
    build, not a run).
    """
    rows = con.execute(
        f"""
        select rule_id, count(distinct (organisation_id, subject_kind, subject_id))
        from {STATUS_RELATION}
        where status = 'due' and due_on <= ?
        group by rule_id
        order by rule_id
        """,
        [as_of],
    ).fetchall()
    return {rule_id: int(subjects) for rule_id, subjects in rows}


def count_on_hold(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.execute(
            f"select count(distinct (organisation_id, subject_kind, subject_id)) "
            f"from {STATUS_RELATION} where status = 'on_hold'"
        ).fetchone()[0]
    )


def status_as_of(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    """The evaluation date(s) retention_status is built for (one, normally)."""
    return [
        row[0]
        for row in con.execute(
            f"select distinct as_of from {STATUS_RELATION} order by 1"
        ).fetchall()
    ]


def check_after_apply(
    con: duckdb.DuckDBPyConnection | None, as_of: dt.date | None, dry_run: bool | None
) -> AfterApplyCheck:
    """Pass unless the apply for ``as_of`` left a subject ``due`` with due_on <= as_of.

    ``as_of``/``dry_run`` are those of the retention run made in the same Dagster run (None
    when that run made none). A dry run changes nothing, so due subjects are expected: it
    passes with a note. Subjects ``on_hold`` are kept lawfully (a legal hold) and never fail
    the check. Statuses built for another date cannot judge the run: that fails too.
    """
    if as_of is None or dry_run is None:
        return AfterApplyCheck(
            True,
            "this Dagster run made no retention run (the check judges the retention run "
            "of its own run): nothing to check",
        )
    if dry_run:
        return AfterApplyCheck(
            True,
            f"dry run for {as_of}: nothing was applied, so subjects still due are expected "
            "(the check only judges an apply)",
            {"as_of": as_of.isoformat(), "dry_run": True},
        )
    assert con is not None, "an apply is checked against the warehouse"
    built_for = status_as_of(con)
    if built_for and built_for != [as_of]:
        return AfterApplyCheck(
            False,
            f"{STATUS_RELATION} is built for {', '.join(map(str, built_for))}, not for the "
            f"apply's as_of {as_of}, so it cannot show what the apply left: rebuild it "
            f"(tinytracker build --as-of {as_of}) and run retention_apply again.",
            {"as_of": as_of.isoformat(), "dry_run": False},
        )
    overdue = count_overdue(con, as_of)
    metadata: dict[str, object] = {
        "as_of": as_of.isoformat(),
        "dry_run": False,
        "overdue_subjects": sum(overdue.values()),
        "on_hold_subjects": count_on_hold(con),
        **{f"overdue.{rule_id}": subjects for rule_id, subjects in overdue.items()},
    }
    if overdue:
        listing = ", ".join(f"{rule} ({n})" for rule, n in overdue.items())
        return AfterApplyCheck(
            False,
            f"after the apply for {as_of}, {sum(overdue.values())} subject(s) are still due "
            f"with due_on on or before {as_of}: {listing}. Compare retention.retention_plan "
            "with audit.retention_log for the run, fix, and run retention_apply again.",
            metadata,
        )
    return AfterApplyCheck(
        True,
        f"nothing due on or before {as_of} is left after the apply (on_hold subjects are kept)",
        metadata,
    )
