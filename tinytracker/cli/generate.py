"""``tinytracker generate``: write a synthetic MIS extract in the landing contract."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core.errors import TinyTrackerError
from tinytracker.generator.config import DEFAULT_EXTRACT_DATE

DESCRIPTION = """\
Write one synthetic MIS extract folder in the landing contract (docs/landing-contract.md):
one file per landing file (organisations, pupils, pupil_contacts, attendance_sessions,
assessments, sen_records, employees, reports, correspondence, setup_imports) with exactly the
contract's columns, UTF-8 CSV with a header, ISO dates, true/false, empty = null.

The first seven organisations cover every contract state the retention rules need:
ORG001 active (trust TR001, sharing), ORG002 contract ended four years ago, ORG003 contract
ended a few months ago, ORG004 early anonymisation requested (next 1 September), ORG005 MIS
permission revoked, ORG006/ORG007 trust TR001 members sharing / not sharing.

The same options give byte-identical files on any day: nothing depends on today's date.
"""


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic MIS extract (all landing files) for demos and tests",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder to write the extract into (created if missing; landing "
        "files already there are replaced)",
    )
    parser.add_argument(
        "--organisations",
        type=_count,
        default=8,
        metavar="N",
        help="number of organisations, ORG001..; at least 7 so every contract "
        "state is present (default 8)",
    )
    parser.add_argument(
        "--pupils",
        type=_count,
        default=2000,
        metavar="N",
        help="pupils on roll at the extract date across all organisations, "
        "approximately; leavers of earlier years come on top (default 2000)",
    )
    parser.add_argument(
        "--years",
        type=_count,
        default=3,
        metavar="N",
        help="academic years of attendance and assessments, ending with the one "
        "containing the extract date (default 3: 2022/23 to 2024/25)",
    )
    parser.add_argument(
        "--seed",
        type=_count,
        default=42,
        metavar="S",
        help="random seed; the same options give byte-identical files (default 42)",
    )
    parser.add_argument(
        "--extract-date",
        type=_iso_date,
        default=DEFAULT_EXTRACT_DATE,
        metavar="YYYY-MM-DD",
        help="the day the extract was taken: attendance runs up to and including it "
        f"(default {DEFAULT_EXTRACT_DATE.isoformat()}, fixed, not today, so "
        "output is reproducible)",
    )
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=("csv", "parquet"),
        default="csv",
        help="csv (default) writes every file as CSV; parquet writes "
        "attendance_sessions and assessments as Parquet (string columns, "
        "same stem and columns) and the rest as CSV",
    )
    parser.add_argument(
        "--inject-errors",
        type=_count,
        default=0,
        metavar="N",
        help="add N deliberately bad rows spread over the files, each breaking one "
        "contract rule, to demonstrate the quarantine (default 0: clean)",
    )
    options.leaf(parser, run, warehouse=False, command_name="generate")


def run(args: argparse.Namespace) -> Outcome:
    # imported here: Faker and numpy take most of a second, which no other command should pay
    from tinytracker.generator import GeneratorConfig, generate_extract
    from tinytracker.generator.progress import Progress

    config = GeneratorConfig(
        out=args.out,
        organisations=args.organisations,
        pupils=args.pupils,
        years=args.years,
        seed=args.seed,
        extract_date=args.extract_date,
        file_format=args.file_format,
        inject_errors=args.inject_errors,
    )
    config.validate()
    progress = Progress(1, enabled=not (args.quiet or args.json))
    try:
        summary = generate_extract(config, progress)
    except OSError as exc:
        raise TinyTrackerError(f"cannot write the extract to {args.out}: {exc}") from exc
    print("\n".join(summary.lines()), file=sys.stdout)
    return Outcome(
        {
            "out": summary.out,
            "extract_date": config.extract_date,
            "seed": config.seed,
            "seconds": round(summary.seconds, 3),
            "files": [
                {"file": f.path.name, "rows": f.rows, "bytes": f.bytes} for f in summary.files
            ],
            "organisations": [
                {"organisation_id": o.organisation_id, "state": o.state}
                for o in summary.organisations
            ],
            "injected_errors": [
                {"file": e.file, "rule": e.rule, "organisation_id": e.organisation_id}
                for e in summary.injected
            ],
        }
    )
