"""``tinytracker``: the command line for the data-protection officer and the platform team.

Each area registers its subcommands from ``tinytracker/cli/<area>.py`` (a
``register(subparsers)`` function), so this file stays a list. Errors a user can act on
(:class:`TinyTrackerError`) print as one line and exit non-zero; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.lock import command_lock
from tinytracker.tasks import clean_leftovers

COMMAND_MODULES = (
    "tinytracker.cli.generate",
    "tinytracker.cli.load",
    "tinytracker.cli.build",
    "tinytracker.cli.hold",
    "tinytracker.cli.retention",
    "tinytracker.cli.backup",
    "tinytracker.cli.report",
    "tinytracker.cli.publish",
    "tinytracker.cli.sar",
    "tinytracker.cli.erase",
    "tinytracker.cli.organisation",
    "tinytracker.cli.share",
    "tinytracker.cli.secret",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinytracker",
        description=(
            "Tiny Tracker retention warehouse: generate synthetic school data, load MIS "
            "extracts into DuckDB, build the dbt models and run the retention policy."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


NO_WAREHOUSE_COMMANDS = frozenset({"generate"})
"""Commands that never open the warehouse, so never wait for another command."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.umask(0o077)  # every file a command creates holds or may hold personal data
    try:
        if args.command in NO_WAREHOUSE_COMMANDS:
            result = args.handler(args)
        else:
            # the whole command, dbt's own connections included, is one writer's turn
            db = getattr(args, "warehouse", None)
            with command_lock(db):
                clean_leftovers(db)  # what a killed command left, before this one starts
                result = args.handler(args)
    except TinyTrackerError as exc:
        print(f"tinytracker {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"tinytracker {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
