"""Policy values Python needs outside dbt, read from the same seeds dbt loads.

How long backups are kept is policy, not code: :func:`backup_retention_days` reads it from
``seeds/policy/retention_general_clauses.csv`` (clause ``backups_kept_90_days``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.paths import SEEDS_DIR

GENERAL_CLAUSES_CSV = SEEDS_DIR / "policy" / "retention_general_clauses.csv"
BACKUP_CLAUSE_ID = "backups_kept_90_days"


def backup_retention_days(path: Path | None = None) -> int:
    """Days a backup is kept (the policy's backup period), from the general-clauses seed.

    The one place Python reads the period: pruning, ``backups_clear_on`` of a retention run
    and every message that states the period use it, and dbt's retention_status reads the
    same seed row, so changing the seed changes them all.
    """
    path = path or GENERAL_CLAUSES_CSV
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(enumerate(csv.DictReader(handle), start=2))
    except FileNotFoundError:
        raise TinyTrackerError(f"{path} is missing: it states the policy's backup period") from None
    for line, row in rows:
        if row.get("clause_id") != BACKUP_CLAUSE_ID:
            continue
        value = (row.get("period_value") or "").strip()
        unit = (row.get("period_unit") or "").strip()
        if unit != "day" or not value.isdigit() or int(value) < 1:
            raise TinyTrackerError(
                f"{path}, line {line}, clause {BACKUP_CLAUSE_ID}: the backup period must be a "
                f"whole number of days (period_value >= 1, period_unit day), got "
                f"{value!r} {unit!r}"
            )
        return int(value)
    raise TinyTrackerError(f"{path} has no clause {BACKUP_CLAUSE_ID}: the backup period is unknown")
