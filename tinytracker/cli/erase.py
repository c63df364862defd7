"""``tinytracker erase pupil|employee|contact``: erasure on the controller's request."""

from __future__ import annotations

import argparse

from tinytracker import tasks
from tinytracker.core import references
from tinytracker.core.dates import parse_date
from tinytracker.rights import erasure_output
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
    parser.add_argument("kind", choices=tuple(CLI_KINDS), help="who is to be erased")
    parser.add_argument("--organisation", required=True, metavar="ORG", help="organisation_id")
    parser.add_argument(
        "--id",
        required=True,
        metavar="ID",
        help="the person's MIS id (pupil_id, employee_id or contact_id)",
    )
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
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="date recorded as the erasure date and used for the rebuild (default: today)",
    )
    parser.add_argument("--by", metavar="NAME", help="who handles it (default: your login)")
    parser.add_argument(
        "--rewrite-now",
        action="store_true",
        help="with --apply: rebuild the derived models, republish and rewrite the warehouse "
        "file now (default: queued to the next nightly retention run)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = tasks.erase(
        subject_kind(args.kind),
        args.organisation,
        args.id,
        args.reason,
        ticket=args.ticket,
        apply_changes=args.apply,
        as_of=parse_date(args.as_of, "--as-of"),
        received_on=parse_date(args.received, "--received"),
        keep_setup_imports=args.keep_setup_imports,
        handled_by=args.by,
        rewrite_now=args.rewrite_now,
    )
    print(erasure_output.format_result(result))
    return 0
