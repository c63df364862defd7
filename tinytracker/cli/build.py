"""``tinytracker build``: dbt build for an evaluation date, e.g. to replay or simulate a day."""

from __future__ import annotations

import argparse
import sys

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.cli.publish import format_result
from tinytracker.cli.publish import to_json as published_json
from tinytracker.core import progress
from tinytracker.core.dates import london_today, parse_date
from tinytracker.core.errors import ExitCode
from tinytracker.tasks import BuildResult, build


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build every dbt model and run its tests for an evaluation date",
        description=(
            "Run `dbt build` on the warehouse (env TINYTRACKER_DB). --as-of sets the date every "
            "retention status and plan is evaluated on (default: env TINYTRACKER_AS_OF, else "
            "today), so a day can be replayed or simulated. After a full build that passes, the "
            "marts are published to the read-only analyst database (see `tinytracker publish`). "
            "Exits 1 when a dbt model or test fails."
        ),
    )
    options.add_as_of(parser)
    parser.add_argument(
        "--select", nargs="+", metavar="SELECTOR", help="dbt selectors, e.g. +retention_plan"
    )
    parser.add_argument(
        "--unit-tests",
        action="store_true",
        help="also run dbt's unit tests (fixture rows, not warehouse data: CI runs them; a "
        "production build skips them)",
    )
    parser.add_argument(
        "--full-tests",
        action="store_true",
        help="scan every row in the grain tests a daily build scopes to the rows it added "
        "(the weekly or CI build)",
    )
    options.leaf(parser, _handle, command_name="build")


def _handle(args: argparse.Namespace) -> Outcome:
    as_of = options.as_of(args)
    as_of_date = parse_date(as_of, "--as-of") or london_today()
    progress.note(f"dbt: building for {as_of_date} (parsing the project first)")
    # analysts read a copy, refreshed after every full build that passed
    result = build(as_of_date, args.select, unit_tests=args.unit_tests, full_tests=args.full_tests)
    for rule, subjects, since in result.overdue:
        print(
            f"overdue: {subjects:,} subject(s) under {rule}, due since {since}: personal data "
            "is kept past its date. Fix: tinytracker retention apply"
            + (f" --as-of {as_of}" if as_of else ""),
            file=sys.stderr,
        )
    if result.published is not None:
        if result.overdue:
            print("the marts hold no personal data and passed their tests: published anyway")
        print(format_result(result.published))
    return Outcome(
        to_json(result, as_of_date),
        exit_code=ExitCode.FAILED if result.status else ExitCode.OK,
        record=result,
        as_of=as_of_date,
    )


def to_json(result: BuildResult, as_of: object) -> dict[str, object]:
    """The JSON result of ``build`` (schemas/build.json)."""
    return {
        "as_of": as_of,
        "dbt_exit_code": result.status,
        "failed_nodes": result.failed,
        "overdue": [
            {"rule_id": rule, "subjects": subjects, "due_since": since}
            for rule, subjects, since in result.overdue
        ],
        "published": published_json(result.published) if result.published else None,
    }
