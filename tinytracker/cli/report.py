"""``tinytracker report``: a one-page, read-only summary for the DPO (reporting/summary.py)."""

from __future__ import annotations

import argparse

from tinytracker.core import warehouse
from tinytracker.reporting.summary import render


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="one-page summary of the warehouse, the quarantine and retention",
        description="Print row counts per landing table, the quarantine by rule, retention "
        "statuses per rule, the last retention runs and where to look next. "
        "Opens the warehouse read-only.",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    con = warehouse.connect(read_only=True)
    try:
        print(render(con))
    finally:
        con.close()
    return 0
