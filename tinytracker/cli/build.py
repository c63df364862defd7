"""``tinytracker build``: dbt build for an evaluation date, e.g. to replay or simulate a day."""

from __future__ import annotations

import argparse
import sys

from tinytracker.cli.publish import format_result
from tinytracker.tasks import build


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build every dbt model and run its tests for an evaluation date",
        description=(
            "Run `dbt build` on the warehouse (env TINYTRACKER_DB). --as-of sets the date every "
            "retention status and plan is evaluated on (default: today), so a day can be "
            "replayed or simulated. After a full build that passes, the marts are published "
            "to the read-only analyst database (see `tinytracker publish`). Exits non-zero "
            "when dbt fails."
        ),
    )
    parser.add_argument(
        "--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD (default: today)"
    )
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
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    # analysts read a copy, refreshed after every full build that passed
    result = build(args.as_of, args.select, unit_tests=args.unit_tests, full_tests=args.full_tests)
    for rule, subjects, since in result.overdue:
        print(
            f"overdue: {subjects:,} subject(s) under {rule}, due since {since}: personal data "
            "is kept past its date. Fix: tinytracker retention apply"
            + (f" --as-of {args.as_of}" if args.as_of else ""),
            file=sys.stderr,
        )
    if result.published is not None:
        if result.overdue:
            print("the marts hold no personal data and passed their tests: published anyway")
        print(format_result(result.published))
    return result.status
