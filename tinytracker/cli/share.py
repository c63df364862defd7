"""``tinytracker share --trust TRUST_ID --out DIR``: export a trust's marts, consent-gated."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.rights import sharing

DESCRIPTION = """\
Export the academy trust's marts (attendance, attainment, progress by group: aggregates only,
small cells suppressed) for the member organisations whose share_with_trust consent is recorded
and whose contract runs, as one CSV per mart plus manifest.json (members included, members left
out and why, files, rows, columns). Reads the warehouse as built (run tinytracker build first);
every exported row is re-checked against the recorded consent. Refused (exit 3) when no member
may be shared. Every export is logged in audit.shares.
"""


def _add_share_options(parser: argparse.ArgumentParser, *, legacy: bool) -> None:
    if legacy:
        parser.add_argument("trust_id", metavar="TRUST_ID", help=argparse.SUPPRESS)
    else:
        parser.add_argument(
            "--trust",
            dest="trust_id",
            metavar="TRUST_ID",
            help="the trust (organisations.trust_id)",
        )
    # not required here: with the old spelling the subcommand's parser takes --out
    options.add_out(
        parser,
        "new (or empty) folder for the CSV files and manifest.json (required)",
        required=False,
    )
    parser.add_argument("--by", metavar="NAME", help="who exports it (default: your login)")
    options.leaf(parser, run, command_name="share", legacy_trust=legacy)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "share",
        help="export an academy trust's marts for its consenting members",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_share_options(parser, legacy=False)
    # the old spelling, `share trust TRUST_ID`, for one more release
    targets = parser.add_subparsers(dest="share_command", required=False, help=argparse.SUPPRESS)
    trust = targets.add_parser(
        "trust",
        description="Deprecated spelling of `tinytracker share --trust TRUST_ID`. " + DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_share_options(trust, legacy=True)


def run(args: argparse.Namespace) -> Outcome:
    if args.legacy_trust:
        options.warn_deprecated("share trust TRUST_ID", "share --trust TRUST_ID")
    if not args.trust_id:
        args.command_parser.error("the following arguments are required: --trust")
    if not args.out:
        args.command_parser.error("the following arguments are required: --out")
    result = sharing.share_trust(args.trust_id, Path(args.out), exported_by=args.by)
    print(sharing.format_result(result))
    return Outcome(to_json(result))


def to_json(result: sharing.ShareResult) -> dict[str, object]:
    """The JSON result of ``share`` (schemas/share.json)."""
    return {
        "share_id": result.share_id,
        "trust_id": result.trust_id,
        "out": result.out_dir,
        "members_as_of": result.members_as_of,
        "included": [m.organisation_id for m in result.included],
        "left_out": [
            {"organisation_id": m.organisation_id, "reason": m.exclusion_reason}
            for m in result.excluded
        ],
        "files": [{"file": f.file_name, "rows": f.rows} for f in result.files],
        "rows": result.rows,
    }
