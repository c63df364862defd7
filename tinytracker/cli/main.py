"""``tinytracker``: the command line for the data-protection officer and the platform team.

Each area registers its subcommands from ``tinytracker/cli/<area>.py`` (a
``register(subparsers)`` function), so this file stays a list. Errors a user can act on
(:class:`TinyTrackerError`) print as one line and exit non-zero; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tinytracker.core.errors import TinyTrackerError

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
