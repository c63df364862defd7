"""The table the CLI and Dagster print for a run: per rule and table, what was (or would be)
done, and what happens next (backups, the audit query)."""

from __future__ import annotations

from tinytracker.erasure.result import RunResult, physical_erasure_words


def format_result(result: RunResult) -> str:
    """The table the CLI and Dagster print: per rule and table, what was (or would be) done."""
    verb = "would change" if result.dry_run else "changed"
    header = (
        f"retention {'plan (dry run)' if result.dry_run else 'apply'} for "
        f"{result.as_of} - run {result.run_id}"
    )
    lines = [header]
    if result.finished_earlier_runs:
        lines.append(
            f"  finished the pending file rewrite (queued or interrupted) of "
            f"{result.finished_earlier_runs} earlier "
            "run(s) first: derived models rebuilt and the warehouse file rewritten, so no value "
            "they erased remains in its bytes"
        )
    if result.skipped_on_hold:
        lines.append(
            f"  {result.skipped_on_hold:,} planned subject(s) are under a standing legal hold "
            f"and {'would be' if result.dry_run else 'were'} skipped (the plan was built before "
            "the hold; rebuilt, they show as on_hold)"
        )
    if not result.steps:
        if result.dry_run:
            outcome = "nothing would change"
        elif result.finished_earlier_runs:
            outcome = "this run changed no rows"
        else:
            outcome = "the warehouse is unchanged"
        lines.append(f"  nothing is due on {result.as_of}: {outcome}")
        return "\n".join(lines)
    width = max(len(step.rule_id) for step in result.steps)
    lines.append(f"  {'rule':<{width}}  {'table':<24} {'action':<10} {'subjects':>9} {'rows':>11}")
    for step in result.steps:
        lines.append(
            f"  {step.rule_id:<{width}}  {step.table_name:<24} {step.action:<10} "
            f"{step.subjects:>9,} {step.rows:>11,}"
        )
    lines.append(f"  {result.subjects:,} subjects; {result.rows:,} rows {verb}")
    if result.dry_run:
        lines.append("  nothing was changed; run `tinytracker retention apply` to apply it")
    else:
        lines.append(
            f"  actioned on {result.actioned_on}; backups still hold the erased data "
            f"until {result.backups_clear_on} ({result.backup_days} days)"
        )
        if result.physically_erased:
            lines.append(f"  {physical_erasure_words(result)}")
        lines.append(f"  audit: select * from audit.retention_log where run_id = '{result.run_id}'")
    return "\n".join(lines)
