"""``tinytracker retention plan|apply``: dry-run and apply the retention policy for a date."""

from __future__ import annotations

import argparse

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.erasure.result import RunResult
from tinytracker.retention.output import format_result
from tinytracker.tasks import apply_retention


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "retention",
        help="plan (dry run) or apply the retention policy for a date",
        description=(
            "Retention runs make the privacy policy true on the warehouse: they delete or "
            "anonymise exactly the rows that retention.retention_plan names for the date."
        ),
    )
    actions = parser.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    for name, dry_run, summary in (
        (
            "plan",
            True,
            "dry run: build the retention models for the date (any date, the "
            "future included) into schema retention_dry_run and print, per rule and "
            "table, how many rows an apply would delete or anonymise; changes no data "
            "and leaves retention.* as it is (the dry run is recorded in "
            "audit.retention_log)",
        ),
        (
            "apply",
            False,
            "build the retention models for the date (today or earlier; a future "
            "date is refused), then apply retention.retention_plan in one "
            "transaction, leaving out subjects under a standing legal hold, log it "
            "in audit.retention_log and rewrite the warehouse file so no erased "
            "value remains in it",
        ),
    ):
        action = actions.add_parser(name, help=summary.split(":")[0], description=summary)
        options.add_as_of(action)
        action.add_argument(
            "--no-build",
            action="store_true",
            help="use retention.retention_plan as already built for the date "
            "(standing legal holds are still re-read)",
        )
        options.leaf(action, _handle, dry_run=dry_run, command_name=f"retention {name}")


def _handle(args: argparse.Namespace) -> Outcome:
    result = apply_retention(options.as_of(args), dry_run=args.dry_run, build=not args.no_build)
    print(format_result(result))
    return Outcome(run_json(result), record=None if result.dry_run else result, as_of=result.as_of)


def run_json(result: RunResult) -> dict[str, object]:
    """A retention run in JSON (schemas/retention.json): counts only, never an identifier."""
    applied = not result.dry_run and bool(result.steps)
    return {
        "run_id": result.run_id,
        "as_of": result.as_of,
        "dry_run": result.dry_run,
        "outcome": result.outcome,
        "subjects": result.subjects,
        "rows": result.rows,
        "steps": [
            {
                "rule_id": step.rule_id,
                "table": step.table_name,
                "action": step.action,
                "subjects": step.subjects,
                "rows": step.rows,
            }
            for step in result.steps
        ],
        "skipped_on_hold": result.skipped_on_hold,
        "finished_earlier_runs": result.finished_earlier_runs,
        "actioned_on": result.actioned_on if applied else None,
        "backups_clear_on": result.backups_clear_on if applied else None,
        "physically_erased": result.physically_erased,
        "erased_values_checked": result.bytes_checked,
        "derived_rows_deleted": result.derived_rows_deleted,
        "rewrite_due": result.rewrite_due,
    }
