"""``tinytracker retention plan|apply``: dry-run and apply the retention policy for a date."""

from __future__ import annotations

import argparse

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
        action.add_argument(
            "--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD (default: today)"
        )
        action.add_argument(
            "--no-build",
            action="store_true",
            help="use retention.retention_plan as already built for the date "
            "(standing legal holds are still re-read)",
        )
        action.set_defaults(handler=_handle, dry_run=dry_run)


def _handle(args: argparse.Namespace) -> int:
    result = apply_retention(args.as_of, dry_run=args.dry_run, build=not args.no_build)
    print(format_result(result))
    return 0
