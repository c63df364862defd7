"""``tinytracker hold add | list | release``: legal holds for the data-protection officer."""

from __future__ import annotations

import argparse

import duckdb

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core import references, schema, warehouse
from tinytracker.retention import holds


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hold",
        help="place, list or release legal holds (held data is never purged or anonymised)",
        description=(
            "A legal hold keeps an organisation, a pupil (with the pupil's contacts) or an "
            "employee out of every retention action while it stands; every retention status of "
            "theirs shows as on_hold, due or not. Takes effect at the next `tinytracker build`."
        ),
    )
    actions = parser.add_subparsers(dest="hold_command", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="place a hold on an organisation, a pupil or an employee",
        description=(
            "Place a legal hold: with --organisation alone the whole organisation is held; "
            "with --pupil (the pupil and the pupil's contacts) or --employee only that subject. "
            "While the hold stands no retention run deletes or anonymises what it covers. "
            "Prints the hold id, which `hold release` needs."
        ),
    )
    options.add_organisation(add)
    subject = add.add_mutually_exclusive_group()
    subject.add_argument("--pupil", metavar="ID", help="hold one pupil (MIS pupil_id)")
    subject.add_argument("--employee", metavar="ID", help="hold one employee (MIS employee_id)")
    add.add_argument(
        "--reason",
        required=True,
        metavar="CATEGORY",
        help="why the data must be kept, one of: "
        + ", ".join(references.HOLD_REASONS)
        + " (free text is refused)",
    )
    add.add_argument(
        "--ticket", metavar="REF", help="the reference of your case file, e.g. CASE-2025/117"
    )
    add.add_argument("--by", metavar="NAME", help="who places the hold (default: your login)")
    options.leaf(add, _add, command_name="hold add")

    listing = actions.add_parser(
        "list",
        help="show the standing holds",
        description=(
            "List the standing legal holds (id, organisation, subject, who placed it and when, "
            "reason); with --all the released ones too, with who released them and when."
        ),
    )
    listing.add_argument("--all", action="store_true", help="include released holds")
    options.leaf(listing, _list, command_name="hold list")

    release = actions.add_parser(
        "release",
        help="release a hold by its id",
        description=(
            "Release a standing legal hold by its id (as shown by `hold list`). The hold stays "
            "in audit.legal_holds with who released it and when; from the next `tinytracker "
            "build` the subject's due data is handled by the retention rules again."
        ),
    )
    release.add_argument("hold_id", metavar="ID", help="hold id as shown by `hold list`")
    release.add_argument("--by", metavar="NAME", help="who releases it (default: your login)")
    options.leaf(release, _release, command_name="hold release")


def _connect() -> duckdb.DuckDBPyConnection:
    con = warehouse.connect()
    schema.ensure_schema(con)
    return con


def hold_json(hold: holds.LegalHold) -> dict[str, object]:
    """One hold in JSON (schemas/hold.json): ids and who/when, never a person's details."""
    return {
        "hold_id": hold.hold_id,
        "organisation_id": hold.organisation_id,
        "subject_kind": hold.subject_kind,
        "subject_id": hold.subject_id,
        "reason": hold.reason,
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at,
        "released_by": hold.released_by,
        "released_at": hold.released_at,
        "is_active": hold.is_active,
    }


def _add(args: argparse.Namespace) -> Outcome:
    if args.pupil is not None:
        kind, subject_id = "pupil", args.pupil
    elif args.employee is not None:
        kind, subject_id = "employee", args.employee
    else:
        kind, subject_id = "organisation", None
    con = _connect()
    try:
        hold = holds.add_hold(
            con,
            args.organisation,
            args.reason,
            ticket=args.ticket,
            subject_kind=kind,
            subject_id=subject_id,
            placed_by=args.by,
        )
    finally:
        con.close()
    who = "the whole organisation" if subject_id is None else f"{kind} {subject_id}"
    print(f"hold {hold.hold_id} placed on {who} of {hold.organisation_id} by {hold.placed_by}")
    return Outcome({"hold": hold_json(hold)})


def _list(args: argparse.Namespace) -> Outcome:
    con = _connect()
    try:
        rows = holds.list_holds(con, include_released=args.all)
    finally:
        con.close()
    outcome = Outcome({"holds": [hold_json(hold) for hold in rows]})
    if not rows:
        print("no legal holds" if args.all else "no standing legal holds")
        return outcome
    header = ("hold_id", "organisation", "subject", "placed_by", "placed_at", "state", "reason")
    table = [header]
    for hold in rows:
        subject = (
            "organisation" if hold.subject_id is None else f"{hold.subject_kind} {hold.subject_id}"
        )
        state = (
            "active"
            if hold.is_active
            else f"released {hold.released_at:%Y-%m-%d} by {hold.released_by}"
        )
        table.append(
            (
                hold.hold_id,
                hold.organisation_id,
                subject,
                hold.placed_by,
                f"{hold.placed_at:%Y-%m-%d %H:%M}",
                state,
                hold.reason,
            )
        )
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header) - 1)]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + str(row[-1]))
    return outcome


def _release(args: argparse.Namespace) -> Outcome:
    con = _connect()
    try:
        hold = holds.release_hold(con, args.hold_id, released_by=args.by)
    finally:
        con.close()
    print(f"hold {hold.hold_id} released by {hold.released_by}")
    return Outcome({"hold": hold_json(hold)})
