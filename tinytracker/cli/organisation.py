"""``tinytracker organisation``: early anonymisation requests and MIS permission."""

from __future__ import annotations

import argparse

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core import schema, warehouse
from tinytracker.core.dates import parse_date
from tinytracker.core.errors import TinyTrackerError
from tinytracker.loading import organisations

DESCRIPTION = """\
Instructions from a customer organisation that do not arrive in its MIS extract. Each change is
recorded in audit.organisation_changes (old and new value, who, when).

  request-anonymisation --organisation ORG --on DATE
      the customer asks for its pupils to be anonymised from DATE: the first retention run on
      or after DATE does it (rule pupils_2y_after_contract). Can be brought forward, not
      postponed.
  revoke-permission --organisation ORG
      stop collecting from its MIS: every load for it is refused until permission is granted
      again; the data already held stays under the retention rules.
  grant-permission --organisation ORG
      collect from its MIS again.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "organisation",
        help="record an organisation's early anonymisation request or MIS permission",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="organisation_command", metavar="ACTION", required=True)
    request = actions.add_parser(
        "request-anonymisation",
        help="anonymise the organisation's pupils from a date (the customer's request)",
        description=(
            "Record a customer organisation's request that its pupils be anonymised from DATE "
            "(raw.organisations.anonymise_requested_on): the first retention run on or after "
            "DATE anonymises them under rule pupils_2y_after_contract. A request can be brought "
            "forward, never postponed or cleared. The change is recorded in "
            "audit.organisation_changes."
        ),
    )
    options.add_legacy_organisation(request, "organisation request-anonymisation")
    request.add_argument(
        "--on",
        required=True,
        metavar="DATE",
        help="date from which the pupils are to be anonymised (YYYY-MM-DD)",
    )
    _add_by(request)
    options.leaf(request, _request, command_name="organisation request-anonymisation")
    for name, granted, summary in (
        ("revoke-permission", False, "stop collecting from the organisation's MIS"),
        ("grant-permission", True, "collect from the organisation's MIS again"),
    ):
        action = actions.add_parser(name, help=summary, description=summary)
        options.add_legacy_organisation(action, f"organisation {name}")
        _add_by(action)
        options.leaf(action, _permission, granted=granted, command_name=f"organisation {name}")


def _add_by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", metavar="NAME", help="who records the change (default: your login)")


def change_json(change: organisations.OrganisationChange) -> dict[str, object]:
    """The JSON result of every ``organisation`` action (schemas/organisation.json)."""
    return {
        "organisation_id": change.organisation_id,
        "organisation_name": change.organisation_name,
        "change": change.change,
        "column": change.column_name,
        "old_value": change.old_value,
        "new_value": change.new_value,
        "changed": change.changed,
        "changed_by": change.changed_by,
        "change_id": change.change_id,
        "standing_holds": change.standing_holds,
    }


def _request(args: argparse.Namespace) -> Outcome:
    on = parse_date(args.on, "--on")
    if on is None:
        raise TinyTrackerError("--on needs a date")
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
        change = organisations.request_anonymisation(con, args.organisation, on, args.by)
    finally:
        con.close()
    print(organisations.format_change(change))
    return Outcome(change_json(change))


def _permission(args: argparse.Namespace) -> Outcome:
    con = warehouse.connect()
    try:
        schema.ensure_schema(con)
        change = organisations.set_mis_permission(con, args.organisation, args.granted, args.by)
    finally:
        con.close()
    print(organisations.format_change(change))
    return Outcome(change_json(change))
