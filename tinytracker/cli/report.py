"""``tinytracker report``: the DPO's summary: text (reporting/summary.py), or with ``--html``
the one-page report with plots and the record of processing (reporting/html_report.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.core import warehouse
from tinytracker.core.dates import parse_date
from tinytracker.core.errors import TinyTrackerError
from tinytracker.reporting.summary import render

DESCRIPTION = """\
Without --html: print row counts per landing table, the quarantine by rule, retention statuses
per rule, the last retention runs and where to look next.

With --html --out DIR: write DIR/report.html, one self-contained page for the data-protection
officer (what is held, what falls due, what was done, what is held back and why, subject
requests, sharing, landing, the last result of every compliance check, with plots), and the
record of processing activities (GDPR Art. 30) as DIR/ropa.csv and DIR/ropa.md. Every figure
is read with SQL from the reporting models (models/reporting), for the date the retention
models are built for; --as-of must be that date. The page names no pupil, contact or
employee.

Opens the warehouse read-only.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="the DPO's summary (text), or with --html the one-page report and the record of "
        "processing",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--html", action="store_true", help="write the HTML page and ropa.csv/ropa.md (--out)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="folder to write into (created if missing)"
    )
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="evaluation date YYYY-MM-DD (default: the date the retention models are built "
        "for; another date is refused: build for it first)",
    )
    parser.add_argument(
        "--organisation", metavar="ORG", help="report on one organisation (default: all)"
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if not args.html:
        if args.out or args.as_of or args.organisation:
            raise TinyTrackerError("--out, --as-of and --organisation need --html")
        con = warehouse.connect(read_only=True)
        try:
            print(render(con))
        finally:
            con.close()
        return 0
    if args.out is None:
        raise TinyTrackerError("--html needs --out DIR: the folder to write the page into")
    # matplotlib loads here, not with the CLI: every other command starts without it
    from tinytracker.reporting.html_report import format_report, write_html_report

    result = write_html_report(
        args.out, as_of=parse_date(args.as_of, "--as-of"), organisation_id=args.organisation
    )
    print(format_report(result))
    return 0
