"""``tinytracker secret check|rotate``: the secret that guards the erasure tokens' key."""

from __future__ import annotations

import argparse

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core import secret
from tinytracker.core.paths import db_path
from tinytracker.core.schema import ensure_schema
from tinytracker.core.warehouse import connect
from tinytracker.erasure.ledger import write_token_key

DESCRIPTION = f"""\
The erasure suppression list is a list of keyed tokens; its key is kept in the warehouse
(audit.token_key) wrapped under the secret in {secret.SECRET_ENV}. Every command that reads or
writes tokens checks the secret first and refuses a different one, so a changed secret can never
quietly stop recognising erased people.

  check   say whether {secret.SECRET_ENV} is this warehouse's secret (changes nothing)
  rotate  re-wrap the key under the secret in {secret.NEW_SECRET_ENV}, in one transaction:
          every token stays valid. Then set {secret.SECRET_ENV} to the new secret wherever
          the warehouse is used (Dagster, cron). Backups taken before the rotation still open
          with the old secret; the erasure ledger gets the new wrap at once.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "secret",
        help="check or rotate the secret that guards the erasure tokens' key",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="secret_command", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="check the secret against the warehouse",
        description=f"Say whether {secret.SECRET_ENV} is the secret this warehouse's token key is "
        "wrapped under (creating the key on first use). Changes nothing else.",
    )
    options.leaf(check, _check, command_name="secret check")
    rotate = actions.add_parser(
        "rotate",
        help=f"re-wrap the token key under {secret.NEW_SECRET_ENV}",
        description=f"Check {secret.SECRET_ENV}, then re-wrap the token key under the secret in "
        f"{secret.NEW_SECRET_ENV} in one transaction, and copy the new wrap into the erasure "
        "ledger. Every token stays valid; the plain key never leaves the process.",
    )
    options.leaf(rotate, _rotate, command_name="secret rotate")


def _check(args: argparse.Namespace) -> Outcome:
    con = connect(db_path())
    try:
        ensure_schema(con)
        secret.token_key(con)  # creates the key on first use, like any command needing it
    finally:
        con.close()
    print(f"{secret.SECRET_ENV} is the secret of {db_path()}")
    return Outcome({"warehouse": db_path(), "secret_matches": True})


def _rotate(args: argparse.Namespace) -> Outcome:
    con = connect(db_path())
    try:
        ensure_schema(con)
        con.execute("begin transaction")
        try:
            secret.rotate_secret(con)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        write_token_key(con)
    finally:
        con.close()
    print(
        f"rotated: the token key of {db_path()} is now wrapped under {secret.NEW_SECRET_ENV}; "
        f"set {secret.SECRET_ENV} to that secret everywhere the warehouse is used. Every "
        "erasure token stays valid."
    )
    return Outcome({"warehouse": db_path(), "rotated": True})
