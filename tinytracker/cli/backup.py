"""``tinytracker backup create|list|restore``: snapshots kept for the policy's backup period
(``policy.backup_retention_days``, from seeds/policy/retention_general_clauses.csv) that never
resurrect anyone on restore."""

from __future__ import annotations

import argparse
import datetime as dt

from tinytracker.backup import snapshots
from tinytracker.core import paths, policy
from tinytracker.core.dates import parse_date
from tinytracker.core.errors import TinyTrackerError
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
    create.add_argument("--date", metavar="DATE", help="date to file it under (default: today)")
    create.set_defaults(handler=_create)
    listing = actions.add_parser(
        "list",
        help="list the backups and when each is pruned",
        description="List the backups and the day each is pruned.",
    )
    listing.set_defaults(handler=_list)
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
    restore.add_argument("date", metavar="DATE", help="the backup's date, YYYY-MM-DD")
    restore.set_defaults(handler=_restore)


def _date(value: str | None) -> dt.date:
    return parse_date(value, "--date") or dt.date.today()


def _create(args: argparse.Namespace) -> int:
    today = _date(args.date)
    backup = snapshots.snapshot(today)
    keep_days = policy.backup_retention_days()
    pruned = snapshots.prune(today, keep_days=keep_days)
    print(f"backup written: {backup.path}")
    for old in pruned:
        print(f"pruned (older than {keep_days} days): {old.path.name}")
    return 0


def _list(args: argparse.Namespace) -> int:
    backups = snapshots.list_backups()
    if not backups:
        print(f"no backups in {paths.backup_dir()}")
        return 0
    keep_days = policy.backup_retention_days()
    for backup in backups:
        prune_on = backup.taken_on + dt.timedelta(days=keep_days + 1)
        print(f"{backup.taken_on}  {backup.path}  (pruned from {prune_on})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    taken_on = parse_date(args.date, "DATE")
    if taken_on is None:
        raise TinyTrackerError("restore needs the backup's date, YYYY-MM-DD")
    result = restore_backup(taken_on)
    print(f"restored {result.backup.path.name}")
    for table, rows in sorted(result.carried_over.items()):
        print(f"  kept {rows:,} audit.{table} row(s) from after the snapshot")
    print(format_result(result.replay).replace("retention apply", "re-applied erasures", 1))
    return 0
