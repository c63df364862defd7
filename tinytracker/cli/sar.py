"""``tinytracker sar pupil|employee``: a Subject Access Request bundle for the controller."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.core.dates import parse_date
from tinytracker.rights import sar

DESCRIPTION = """\
Write everything the warehouse holds about one pupil or one employee into a new folder: sar.json
(one section per table: columns and rows, schema version, request id) and sar.html (a readable
summary: the person's details, rows per table, retention status and due dates in plain words,
legal holds). The bundle is for the controller (the organisation) and holds personal data; it
is never stored in the warehouse. The request is recorded in audit.subject_requests (request id,
kind, organisation, received, due = received + 1 month, completed), without the person's id.

For someone already erased, the bundle lists what the warehouse still holds about them (an
author's kept name and reports, setup-import rows an erasure left, correspondence kept under its
own rule); if nothing is held, or the person is unknown, or the id is an anonymised record's
surrogate, it is an error and no folder is written.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sar",
        help="subject access request: everything held about one pupil or employee",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=sar.SAR_KINDS, help="who the request is about")
    parser.add_argument("--organisation", required=True, metavar="ORG", help="organisation_id")
    parser.add_argument(
        "--id", required=True, metavar="ID", help="the person's MIS id (pupil_id or employee_id)"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="PATH",
        help="new (or empty) folder to write sar.json and sar.html into",
    )
    parser.add_argument(
        "--received",
        metavar="DATE",
        help="date the controller received the request (default: today); the "
        "response is due one month later",
    )
    parser.add_argument("--by", metavar="NAME", help="who handles it (default: your login)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = sar.subject_access_request(
        args.kind,
        args.organisation,
        args.id,
        args.out,
        received_on=parse_date(args.received, "--received"),
        handled_by=args.by,
    )
    print(sar.format_result(result))
    return 0
