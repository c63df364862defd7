"""``tinytracker erase --organisation ORG --pupil ID | --employee ID | --contact ID``: erasure on
the controller's request."""

from __future__ import annotations

import argparse

from tinytracker import tasks
from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.cli.retention import run_json
from tinytracker.core import references
from tinytracker.core.dates import parse_date
from tinytracker.rights import erasure_output
from tinytracker.rights.erasure import ErasureResult
from tinytracker.rights.subjects import CLI_KINDS, subject_kind

DESCRIPTION = """\
Erase one person now, on the controller's request, through the same plan/apply/audit path as a
scheduled retention run: a pupil is anonymised (identifiers cleared, every row re-keyed to a
random surrogate; contacts deleted), an employee is anonymised (name kept only where they
authored a report), a contact is deleted; correspondence about them goes too, and so do the
setup-import rows and quarantined rows that name them (only those rows: the rest of an import
stays; the dry run lists them). The run is logged in audit.retention_log / retention_runs
(requested_by erasure_request), the person goes on the suppression list as keyed tokens so no
later extract brings back any row about them. The person's derived rows (intermediate tables,
the retention plan) are deleted in the same transaction; rebuilding the marts, republishing
and rewriting the warehouse file (so no erased value remains in its bytes) is queued to the
next nightly retention run (02:00 London) or `tinytracker retention apply`, and shows as
pending in `tinytracker report` and on the DPO page until then. --rewrite-now does it at once.

Dry run unless --apply: it shows, per table, the rows that would change, and changes nothing.
Refused (exit 3) while a legal hold stands on the person or the organisation. The reason is a
category and --ticket the controller's case reference, both kept in audit.subject_requests; free
text is refused (it could name the person in the audit trail), and so is a ticket holding the
person's ids, names or contact details.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "erase",
        help="erase one pupil, employee or contact now, on the controller's request",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_organisation(parser)
    options.add_person(parser, tuple(CLI_KINDS), "erase")
    parser.add_argument(
        "--reason",
        required=True,
        metavar="CATEGORY",
        help="why, one of: "
        + ", ".join(references.ERASURE_REASONS)
        + " (kept in the audit; free text is refused)",
    )
    parser.add_argument(
        "--ticket",
        metavar="REF",
        help="the reference of the controller's case file, e.g. 4411 (kept in the audit)",
    )
    parser.add_argument(
        "--apply", action="store_true", help="erase (default: dry run, nothing changes)"
    )
    parser.add_argument(
        "--keep-setup-imports",
        action="store_true",
        help="leave the setup-import rows naming the person to their one-year "
        "rule (default: delete those rows now; the dry run lists them)",
    )
    parser.add_argument(
        "--received",
        metavar="DATE",
        help="date the controller received the request (default: today)",
    )
    options.add_as_of(
        parser,
        "date the rules are evaluated on when the models are rebuilt after the erasure "
        f"(default: env {options.AS_OF_ENV}, else today)",
    )
    parser.add_argument("--by", metavar="NAME", help="who handles it (default: your login)")
    parser.add_argument(
        "--rewrite-now",
        action="store_true",
        help="with --apply: rebuild the derived models, republish and rewrite the warehouse "
        "file now (default: queued to the next nightly retention run)",
    )
    options.leaf(parser, run, command_name="erase")


def run(args: argparse.Namespace) -> Outcome:
    result = tasks.erase(
        subject_kind(args.kind),
        args.organisation,
        args.subject_id,
        args.reason,
        ticket=args.ticket,
        apply_changes=args.apply,
        as_of=parse_date(options.as_of(args), "--as-of"),
        received_on=parse_date(args.received, "--received"),
        keep_setup_imports=args.keep_setup_imports,
        handled_by=args.by,
        rewrite_now=args.rewrite_now,
    )
    print(erasure_output.format_result(result))
    return Outcome(
        to_json(result), record=result if result.applied else None, as_of=result.run.as_of
    )


def to_json(result: ErasureResult) -> dict[str, object]:
    """The JSON result of ``erase`` (schemas/erase.json): counts, the request, what is left."""
    request = result.request
    return {
        "applied": result.applied,
        "subject_kind": result.subject.kind,
        "organisation_id": result.subject.organisation_id,
        "run": run_json(result.run),
        "related": dict(sorted(result.related.items())),
        "request": None
        if request is None
        else {
            "request_id": request.request_id,
            "reason": request.reason,
            "ticket": request.ticket,
            "received_on": request.received_on,
            "due_on": request.due_on,
            "completed_on": request.completed_on,
        },
        "setup_imports": [
            {
                "import_id": named.import_id,
                "rows_naming_subject": named.rows_naming_subject,
                "rows_erased": named.rows_erased,
                "rows_left": named.rows_left,
                "due_on": named.due_on,
            }
            for named in result.setup_imports
        ],
    }
