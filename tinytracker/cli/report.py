"""``tinytracker report``: the DPO's summary: text (reporting/summary.py), or with ``--html``
the one-page report with plots and the record of processing (reporting/html_report.py)."""

from __future__ import annotations

import argparse

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core import warehouse
from tinytracker.core.dates import parse_date
from tinytracker.core.errors import TinyTrackerError
from tinytracker.reporting.summary import render_data, summary_data

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
    options.add_out(parser, "folder to write into (created if missing)", required=False)
    options.add_as_of(
        parser,
        "evaluation date YYYY-MM-DD (default: the date the retention models are built for; "
        "another date is refused: build for it first)",
    )
    options.add_organisation(
        parser, required=False, help_text="report on one organisation (default: all)"
    )
    options.leaf(parser, _handle, command_name="report")


def _handle(args: argparse.Namespace) -> Outcome:
    if not args.html:
        if args.out or args.as_of or args.organisation:
            raise TinyTrackerError("--out, --as-of and --organisation need --html")
        con = warehouse.connect(read_only=True)
        try:
            data = summary_data(con)
        finally:
            con.close()
        print(render_data(data))
        return Outcome(data)
    if args.out is None:
        raise TinyTrackerError("--html needs --out DIR: the folder to write the page into")
    # matplotlib loads here, not with the CLI: every other command starts without it
    from tinytracker.reporting.html_report import format_report, write_html_report

    result = write_html_report(
        args.out,
        as_of=parse_date(options.as_of(args), "--as-of"),
        organisation_id=args.organisation,
    )
    print(format_report(result))
    return Outcome(
        {
            "as_of": result.as_of,
            "organisation_id": result.organisation_id,
            "out": result.out_dir,
            "files": [result.page, result.ropa_csv, result.ropa_md],
            "headlines": result.headlines,
        }
    )
