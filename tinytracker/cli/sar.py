"""``tinytracker sar --organisation ORG --pupil ID | --employee ID``: a Subject Access Request
bundle for the controller."""

from __future__ import annotations

import argparse

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core.dates import parse_date
from tinytracker.rights import sar
from tinytracker.rights.sar_bundle import SarResult

DESCRIPTION = """\
Write everything the warehouse holds about one pupil or one employee into a new folder: sar.json
(one section per table: columns and rows, schema version, request id) and sar.html (a readable
summary for the person: each field with a plain label, codes with their meaning, dates written
out, retention status and due dates in plain words, legal holds). The bundle is for the
controller (the organisation) and holds personal data; it is never stored in the warehouse. The
request is recorded in audit.subject_requests (request id, kind, organisation, received, due =
received + 1 month, completed), without the person's id.

For someone already erased, the bundle lists what the warehouse still holds about them (an
author's kept name and reports, setup-import rows an erasure left, correspondence kept under its
own rule); if nothing is held, or the person is unknown, or the id is an anonymised record's
surrogate, it is refused (exit 3) and no folder is written.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sar",
        help="subject access request: everything held about one pupil or employee",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_organisation(parser)
    options.add_person(parser, sar.SAR_KINDS, "sar")
    options.add_out(parser, "new (or empty) folder to write sar.json and sar.html into")
    parser.add_argument(
        "--received",
        metavar="DATE",
        help="date the controller received the request (default: today); the "
        "response is due one month later",
    )
    parser.add_argument("--by", metavar="NAME", help="who handles it (default: your login)")
    options.leaf(parser, run, command_name="sar")


def run(args: argparse.Namespace) -> Outcome:
    result = sar.subject_access_request(
        args.kind,
        args.organisation,
        args.subject_id,
        args.out,
        received_on=parse_date(args.received, "--received"),
        handled_by=args.by,
    )
    print(sar.format_result(result))
    return Outcome(to_json(result))


def to_json(result: SarResult) -> dict[str, object]:
    """The JSON result of ``sar`` (schemas/sar.json): where the bundle is and rows per
    section; the person's data itself stays in the bundle."""
    request, subject = result.request, result.subject
    return {
        "request_id": request.request_id,
        "subject_kind": subject.kind,
        "organisation_id": subject.organisation_id,
        "received_on": request.received_on,
        "due_on": request.due_on,
        "completed_on": request.completed_on,
        "erased_on": subject.erased_on,
        "out": result.out_dir,
        "files": [result.json_path, result.html_path],
        "sections": [{"section": s.name, "rows": len(s.rows)} for s in result.sections],
    }
