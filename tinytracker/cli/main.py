"""``tinytracker``: the command line for the data-protection officer and the platform team.

Each area registers its subcommands from ``tinytracker/cli/<area>.py`` (a
``register(subparsers)`` function), so this file stays a list. Every command shares one set of
conventions (``options.py``): ``--as-of``, ``--organisation`` with ``--pupil``/``--employee``,
``--out DIR``, ``--warehouse``, ``--json``, ``--quiet``, and one table of exit codes
(``core/errors.py``). Errors a user can act on (:class:`TinyTrackerError`) print as one line and
exit with their class's code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from tinytracker.cli import options, output, recording
from tinytracker.cli.output import Outcome
from tinytracker.cli.progress import display, wanted
from tinytracker.core.errors import ExitCode, TinyTrackerError, exit_code_table
from tinytracker.core.lock import command_lock
from tinytracker.core.paths import DB_ENV
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

EPILOG = f"""\
options every command takes:
  --json            one JSON document on stdout (docs/cli-json.md); human text on stderr
  --quiet           no progress display (off anyway when stdout is not a terminal)
  --warehouse FILE  the warehouse (default: env {DB_ENV}); not for `generate`

exit codes (every command):
{exit_code_table()}
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinytracker",
        description=(
            "Tiny Tracker retention warehouse: generate synthetic school data, load MIS\n"
            "extracts into DuckDB, build the dbt models and run the retention policy.\n"
            "`tinytracker COMMAND --help` says what each command does."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


NO_WAREHOUSE_COMMANDS = frozenset({"generate"})
"""Commands that never open the warehouse, so never wait for another command."""


def command_name(args: argparse.Namespace) -> str:
    """``retention apply``, ``backup list``: the command and its action, as typed."""
    return str(getattr(args, "command_name", None) or args.command)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        options.resolve(args)
    except SystemExit as exc:
        if exc.code not in (0, None) and "--json" in argv:  # a script asked for JSON: give it
            name = " ".join(word for word in argv[:2] if not word.startswith("-"))
            document = output.envelope(name or "tinytracker", ExitCode.USAGE, None, "bad usage")
            print(json.dumps(document))
            return ExitCode.USAGE
        raise
    os.umask(0o077)  # every file a command creates holds or may hold personal data
    name = command_name(args)
    outcome = Outcome(exit_code=ExitCode.OK)
    message: str | None = None
    redirect = output.stdout_to_stderr() if args.json else nullcontext(sys.stdout)
    with _warehouse_env(args), redirect as real_stdout:
        try:
            with display(wanted(args.quiet, args.json)):
                outcome = _run(args)
        except TinyTrackerError as exc:
            message = str(exc)
            outcome = Outcome(exit_code=exc.exit_code)
            print(f"tinytracker {name}: error: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            message = "interrupted"
            outcome = Outcome(exit_code=ExitCode.INTERRUPTED)
            print(f"tinytracker {name}: interrupted", file=sys.stderr)
        if outcome.warning:
            message = outcome.warning
            print(f"tinytracker {name}: {outcome.warning}", file=sys.stderr)
        if outcome.record is not None:
            recording.record(name, outcome)
    if args.json:
        document = output.envelope(name, outcome.exit_code, outcome.data, message)
        print(json.dumps(document, ensure_ascii=False), file=real_stdout)
        real_stdout.flush()
    return int(outcome.exit_code)


def _run(args: argparse.Namespace) -> Outcome:
    if args.command in NO_WAREHOUSE_COMMANDS:
        return _as_outcome(args.handler(args))
    # the whole command, dbt's own connections included, is one writer's turn
    with command_lock():
        clean_leftovers()  # what a killed command left, before this one starts
        return _as_outcome(args.handler(args))


def _as_outcome(result: Any) -> Outcome:
    if isinstance(result, Outcome):
        return result
    return Outcome(exit_code=int(result or 0))


@contextmanager
def _warehouse_env(args: argparse.Namespace) -> Iterator[None]:
    """``--warehouse FILE`` is env ``TINYTRACKER_DB`` for the command (dbt reads it too)."""
    warehouse = getattr(args, "warehouse", None)
    if warehouse is None:
        yield
        return
    previous = os.environ.get(DB_ENV)
    os.environ[DB_ENV] = str(warehouse.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(DB_ENV, None)
        else:
            os.environ[DB_ENV] = previous


if __name__ == "__main__":
    sys.exit(main())
