"""What one erasure run did (or, for a dry run, would do): counts only, never an identifier."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tinytracker.core.dates import london_today
from tinytracker.core.policy import backup_retention_days


def action_date() -> dt.date:
    """The real date of an action: today in London, the calendar the schedules run on.

    It is what ``anonymised_on``, the suppression list's ``actioned_on`` and
    ``backups_clear_on`` record, whatever ``as_of`` the run evaluated.
    """
    return london_today()


@dataclass(frozen=True)
class StepResult:
    """What one rule did to one table: subjects and rows deleted or anonymised."""

    rule_id: str
    table_name: str
    action: str
    subjects: int
    rows: int


@dataclass
class RunResult:
    run_id: str
    as_of: dt.date
    dry_run: bool
    steps: list[StepResult] = field(default_factory=list)
    subjects: int = 0
    physically_erased: bool = False
    # the real date of the action (today), stamped on every row it changes
    actioned_on: dt.date = field(default_factory=action_date)
    # the policy's backup period when the run started (seeds/policy, backups_kept_90_days)
    backup_days: int = field(default_factory=backup_retention_days)
    # planned subjects left alone because a standing legal hold covers them
    skipped_on_hold: int = 0
    # earlier applied runs whose pending (queued or interrupted) file rewrite was finished first
    finished_earlier_runs: int = 0
    # values that named the erased people and nobody kept (UPNs, emails, phones, addresses,
    # teacher numbers): held in memory only, for the byte scan after the file rewrite
    erased_values: list[str] = field(default_factory=list, repr=False)
    # how many of them a byte scan of the rewritten file looked for (and did not find)
    bytes_checked: int = 0
    numbers_checked: int = 0  # digits-only values, looked for in every table (tasks.py)
    derived_rows_deleted: int = 0
    """Rows of the subjects deleted from derived tables in the run's transaction (a request)."""
    rewrite_due: dt.datetime | None = None
    """When the erasure is queued, not finished: the nightly run that rebuilds the marts,
    republishes and rewrites the file (London time); None when it was finished at once."""

    @property
    def rows(self) -> int:
        return sum(step.rows for step in self.steps)

    @property
    def backups_clear_on(self) -> dt.date:
        """First day no backup holds what this run erased: action date + backup period."""
        return self.actioned_on + dt.timedelta(days=self.backup_days)

    @property
    def outcome(self) -> str:
        if not self.steps:
            return "nothing_due"
        return "planned" if self.dry_run else "applied"


def physical_erasure_words(result: RunResult) -> str:
    """What the file rewrite proved: a claim about the bytes only after a scan that looked."""
    if result.bytes_checked:
        return (
            "warehouse file rewritten; a byte scan found none of the "
            f"{result.bytes_checked:,} identifying values erased (UPNs, emails, phones, "
            "addresses) in it"
            + (
                f", and no table holds any of the {result.numbers_checked:,} teacher numbers erased"
                if result.numbers_checked
                else ""
            )
        )
    return "warehouse file rewritten: erased rows are no longer in its bytes"
