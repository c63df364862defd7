"""One spelling per meaning, for every command (the README's table of options is this module).

- ``--as-of DATE``: the date a command evaluates the retention rules on (default: env
  ``TINYTRACKER_AS_OF``, else today in London);
- ``--organisation ORG`` with ``--pupil ID``, ``--employee ID`` or ``--contact ID``: a person;
- ``--out DIR``: a folder every output file goes into;
- ``--warehouse FILE``: the warehouse (default: env ``TINYTRACKER_DB``), dbt's included;
- ``--json``: one JSON document on stdout (docs/cli-json.md), human text on stderr;
- ``--quiet``: no progress display.

Spellings replaced by these keep working for one release: each use prints one line on stderr
naming the new spelling (:data:`DEPRECATED` lists them for the README and the tests).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinytracker.core.dates import parse_date

AS_OF_ENV = "TINYTRACKER_AS_OF"
PERSON_KINDS = ("pupil", "employee", "contact")

DEPRECATED: dict[str, str] = {
    "backup create --date DATE": "backup create --as-of DATE",
    "backup restore DATE": "backup restore --taken-on DATE",
    "sar pupil|employee --id ID": "sar --pupil ID | --employee ID",
    "erase pupil|employee|contact --id ID": "erase --pupil ID | --employee ID | --contact ID",
    "organisation ACTION ORG": "organisation ACTION --organisation ORG",
    "share trust TRUST_ID": "share --trust TRUST_ID",
}
"""Old spelling -> new spelling: accepted until the next release, with a warning."""


def warn_deprecated(old: str, new: str) -> None:
    print(
        f"tinytracker: `{old}` is deprecated and goes in the next release: use `{new}`",
        file=sys.stderr,
    )


class DeprecatedOption(argparse.Action):
    """An old option spelling: stores into the new option's ``dest`` and warns once."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, old: str, new: str, **kwargs: Any
    ) -> None:
        self.old, self.new = old, new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        warn_deprecated(self.old, self.new)
        setattr(namespace, self.dest, values)


def add_common(parser: argparse.ArgumentParser, *, warehouse: bool = True) -> None:
    """``--json`` and ``--quiet`` on every command; ``--warehouse`` where it opens one."""
    group = parser.add_argument_group("output and warehouse (every command)")
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout (schema: docs/cli-json.md); human text goes "
        "to stderr",
    )
    group.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display (it is off anyway when stdout is not a terminal)",
    )
    if warehouse:
        group.add_argument(
            "--warehouse",
            type=Path,
            metavar="FILE",
            help="the warehouse file (default: env TINYTRACKER_DB); dbt uses it too",
        )


def add_as_of(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help=help_text
        or f"evaluation date YYYY-MM-DD (default: env {AS_OF_ENV}, else today in London)",
    )


def as_of(args: argparse.Namespace) -> str | None:
    """``--as-of``, else env ``TINYTRACKER_AS_OF`` (checked), else None (the command's default:
    today)."""
    value = getattr(args, "as_of", None)
    if value:
        return str(value)
    from_env = os.environ.get(AS_OF_ENV, "").strip()
    if from_env:
        parsed = parse_date(from_env, AS_OF_ENV)
        return parsed.isoformat() if parsed else None
    return None


def add_out(parser: argparse.ArgumentParser, what: str, *, required: bool = True) -> None:
    parser.add_argument("--out", required=required, type=Path, metavar="DIR", help=what)


def add_organisation(
    parser: argparse.ArgumentParser, *, required: bool = True, help_text: str = "organisation_id"
) -> None:
    parser.add_argument(
        "--organisation",
        required=required,
        metavar="ORG",
        help=help_text,
    )


def add_legacy_organisation(parser: argparse.ArgumentParser, command: str) -> None:
    """``--organisation ORG`` (required) and the old positional ``ORG`` (deprecated)."""
    add_organisation(parser, required=False, help_text="organisation_id (required)")
    parser.add_argument("legacy_organisation", nargs="?", help=argparse.SUPPRESS)
    parser.set_defaults(legacy_organisation_command=command)


def resolve_legacy_organisation(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Fold the old positional ``ORG`` into ``--organisation`` (with a warning)."""
    legacy = getattr(args, "legacy_organisation", None)
    if legacy is not None:
        if args.organisation is not None and args.organisation != legacy:
            parser.error(f"two organisations: {legacy} and --organisation {args.organisation}")
        command = args.legacy_organisation_command
        warn_deprecated(f"{command} ORG", f"{command} --organisation ORG")
        args.organisation = legacy
    if args.organisation is None:
        parser.error("the following arguments are required: --organisation")


def add_person(parser: argparse.ArgumentParser, kinds: Sequence[str], command: str) -> None:
    """``--pupil ID | --employee ID [| --contact ID]`` (one required), and the old
    ``KIND --id ID`` spelling (deprecated)."""
    group = parser.add_mutually_exclusive_group()
    for kind in kinds:
        group.add_argument(f"--{kind}", metavar="ID", help=f"the {kind}'s MIS {kind}_id")
    parser.add_argument("legacy_kind", nargs="?", choices=tuple(kinds), help=argparse.SUPPRESS)
    parser.add_argument("--id", dest="legacy_id", metavar="ID", help=argparse.SUPPRESS)
    parser.set_defaults(person_kinds=tuple(kinds), person_command=command)


def resolve_person(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Set ``args.kind`` and ``args.subject_id`` from ``--pupil/--employee/--contact`` or the
    old ``KIND --id ID``."""
    given = [(kind, getattr(args, kind)) for kind in args.person_kinds if getattr(args, kind)]
    options = " | ".join(f"--{kind} ID" for kind in args.person_kinds)
    if args.legacy_kind is not None or args.legacy_id is not None:
        if given:
            parser.error(f"give the person once: {options}")
        if args.legacy_kind is None or args.legacy_id is None:
            parser.error(f"give the person as {options}")
        warn_deprecated(
            f"{args.person_command} {args.legacy_kind} --id ID",
            f"{args.person_command} --{args.legacy_kind} ID",
        )
        given = [(args.legacy_kind, args.legacy_id)]
    if not given:
        parser.error(f"give the person: {options}")
    args.kind, args.subject_id = given[0]


def leaf(
    parser: argparse.ArgumentParser, handler: Any, *, warehouse: bool = True, **defaults: Any
) -> None:
    """Finish a command's parser: the common options, its handler, and itself (so old
    spellings can be checked after parsing with its own usage line)."""
    add_common(parser, warehouse=warehouse)
    parser.set_defaults(handler=handler, command_parser=parser, **defaults)


def resolve(args: argparse.Namespace) -> None:
    """Every post-parse step a command's parser registered (old spellings folded in)."""
    parser = getattr(args, "command_parser", None)
    if parser is None:
        return
    if hasattr(args, "legacy_organisation_command"):
        resolve_legacy_organisation(args, parser)
    if hasattr(args, "person_kinds"):
        resolve_person(args, parser)
