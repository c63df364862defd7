"""``tinytracker backup create|list|restore``: snapshots kept for the policy's backup period
(``policy.backup_retention_days``, from seeds/policy/retention_general_clauses.csv) that never
resurrect anyone on restore."""

from __future__ import annotations

import argparse
import datetime as dt

from tinytracker.backup import snapshots
from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.cli.retention import run_json
from tinytracker.core import paths, policy
from tinytracker.core.dates import london_today, parse_date
from tinytracker.retention.output import format_result
from tinytracker.tasks import restore_backup


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="take, list and restore warehouse backups (kept for the policy's backup period)",
        description=(
            "Backups are consistent snapshots of the warehouse in backups/ (env "
            "TINYTRACKER_BACKUP_DIR), one per day, pruned after the privacy policy's backup "
            "period (seeds/policy/retention_general_clauses.csv, clause backups_kept_90_days). "
            "A restore re-applies every erasure made after the snapshot was taken."
        ),
    )
    actions = parser.add_subparsers(dest="backup_command", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="snapshot the warehouse now and prune backups past the backup period",
        description="Snapshot the warehouse as backups/tinytracker-DATE.duckdb, then delete "
        "(zero-filled) every backup older than the policy's backup period.",
    )
    options.add_as_of(
        create,
        "the date to file it under and to count the backup period from (default: env "
        f"{options.AS_OF_ENV}, else today)",
    )
    create.add_argument(
        "--date",
        dest="as_of",
        action=options.DeprecatedOption,
        old="backup create --date DATE",
        new="backup create --as-of DATE",
    )
    options.leaf(create, _create, command_name="backup create")
    listing = actions.add_parser(
        "list",
        help="list the backups and when each is pruned",
        description="List the backups and the day each is pruned.",
    )
    options.leaf(listing, _list, command_name="backup list")
    restore = actions.add_parser(
        "restore",
        help="restore a backup and re-apply every erasure made since",
        description=(
            "Replace the warehouse with the backup taken on DATE, keep the audit trail of the "
            "replaced warehouse (and the erasure ledger in the backup folder), re-erase every "
            "subject that a retention run or erasure request removed after the snapshot, "
            "rebuild the derived models and rewrite the file. Needs TINYTRACKER_SECRET."
        ),
    )
    restore.add_argument(
        "--taken-on", metavar="DATE", help="the date of the backup to restore, YYYY-MM-DD"
    )
    restore.add_argument("legacy_date", nargs="?", metavar="DATE", help=argparse.SUPPRESS)
    options.leaf(restore, _restore, command_name="backup restore")


def backup_json(backup: snapshots.Backup, keep_days: int) -> dict[str, object]:
    return {
        "taken_on": backup.taken_on,
        "path": backup.path,
        "pruned_from": backup.taken_on + dt.timedelta(days=keep_days + 1),
    }


def _create(args: argparse.Namespace) -> Outcome:
    today = parse_date(options.as_of(args), "--as-of") or london_today()
    backup = snapshots.snapshot(today)
    keep_days = policy.backup_retention_days()
    pruned = snapshots.prune(today, keep_days=keep_days)
    print(f"backup written: {backup.path}")
    for old in pruned:
        print(f"pruned (older than {keep_days} days): {old.path.name}")
    data = {
        "backup": backup_json(backup, keep_days),
        "keep_days": keep_days,
        "pruned": [backup_json(old, keep_days) for old in pruned],
    }
    return Outcome(data, record=backup, as_of=today)


def _list(args: argparse.Namespace) -> Outcome:
    backups = snapshots.list_backups()
    keep_days = policy.backup_retention_days()
    data = {
        "backup_dir": paths.backup_dir(),
        "keep_days": keep_days,
        "backups": [backup_json(backup, keep_days) for backup in backups],
    }
    if not backups:
        print(f"no backups in {paths.backup_dir()}")
    for backup in backups:
        prune_on = backup.taken_on + dt.timedelta(days=keep_days + 1)
        print(f"{backup.taken_on}  {backup.path}  (pruned from {prune_on})")
    return Outcome(data)


def _restore(args: argparse.Namespace) -> Outcome:
    value = args.taken_on
    if args.legacy_date is not None:
        if value is not None and value != args.legacy_date:
            args.command_parser.error("give the backup's date once: --taken-on DATE")
        options.warn_deprecated("backup restore DATE", "backup restore --taken-on DATE")
        value = args.legacy_date
    taken_on = parse_date(value, "--taken-on")
    if taken_on is None:
        args.command_parser.error("the following arguments are required: --taken-on")
        raise AssertionError  # error() exits
    result = restore_backup(taken_on)
    print(f"restored {result.backup.path.name}")
    for table, rows in sorted(result.carried_over.items()):
        print(f"  kept {rows:,} audit.{table} row(s) from after the snapshot")
    print(format_result(result.replay).replace("retention apply", "re-applied erasures", 1))
    data = {
        "backup": backup_json(result.backup, policy.backup_retention_days()),
        "carried_over": dict(sorted(result.carried_over.items())),
        "replay": run_json(result.replay),
    }
    return Outcome(data, record=result, as_of=result.replay.as_of)
