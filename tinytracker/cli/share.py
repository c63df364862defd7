"""``tinytracker share trust TRUST_ID --out DIR``: export a trust's marts, consent-gated."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.rights import sharing

DESCRIPTION = """\
Export the academy trust's marts (attendance, attainment, progress by group: aggregates only,
small cells suppressed) for the member organisations whose share_with_trust consent is recorded
and whose contract runs, as one CSV per mart plus manifest.json (members included, members left
out and why, files, rows, columns). Reads the warehouse as built (run tinytracker build first);
every exported row is re-checked against the recorded consent. Refused (exit 3) when no member
may be shared. Every export is logged in audit.shares.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "share",
        help="export an academy trust's marts for its consenting members",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    targets = parser.add_subparsers(dest="share_command", metavar="TARGET", required=True)
    trust = targets.add_parser(
        "trust",
        help="share with an academy trust",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trust.add_argument("trust_id", metavar="TRUST_ID", help="the trust (organisations.trust_id)")
    trust.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="new (or empty) folder for the CSV files and manifest.json",
    )
    trust.add_argument("--by", metavar="NAME", help="who exports it (default: your login)")
    trust.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = sharing.share_trust(args.trust_id, args.out, exported_by=args.by)
    print(sharing.format_result(result))
    return 0
