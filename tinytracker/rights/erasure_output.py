"""What ``tinytracker erase`` prints: the steps, the request, and what is left and why.

The output must not claim a person is gone while rows naming them stay (setup-import rows kept
by ``--keep-setup-imports`` or a legal hold, backups until they expire).
"""

from __future__ import annotations

import datetime as dt

from tinytracker.core.policy import backup_retention_days
from tinytracker.erasure.result import physical_erasure_words
from tinytracker.rights.erasure import (
    QUARANTINE_RULE,
    SETUP_ROWS_RULE,
    ErasureResult,
    SetupImportNaming,
)


def _due_words(named: SetupImportNaming, as_of: dt.date) -> str:
    if named.due_on is None:
        return "its one-year rule has no date yet"
    if named.due_on <= as_of:
        return f"its one-year rule made it due on {named.due_on}"
    return f"its one-year rule deletes it on {named.due_on}"


def format_result(result: ErasureResult) -> str:
    """What the CLI prints: the steps (rows per table), the request, what is left and why."""
    run, subject = result.run, result.subject
    who = f"{subject.label} {subject.subject_id} of {subject.organisation_id}"
    lines = [f"erasure request {'(dry run) ' if run.dry_run else ''}for {who} - run {run.run_id}"]
    if run.steps:
        # the engine's steps first, then the rows erased on their own
        steps = sorted(run.steps, key=lambda s: s.rule_id in (SETUP_ROWS_RULE, QUARANTINE_RULE))
        width = max(len(step.rule_id) for step in steps)
        lines.append(
            f"  {'rule':<{width}}  {'table':<24} {'action':<10} {'subjects':>9} {'rows':>9}"
        )
        lines += [
            f"  {s.rule_id:<{width}}  {s.table_name:<24} {s.action:<10} "
            f"{s.subjects:>9,} {s.rows:>9,}"
            for s in steps
        ]
    related = ", ".join(
        f"{n} {kind.replace('_', ' ')} item(s)" for kind, n in sorted(result.related.items())
    )
    verb = "would change" if run.dry_run else "changed"
    lines.append(
        f"  {run.rows:,} rows {verb}"
        + (f"; with the {subject.label}: {related}" if related else "")
    )
    would = "would be " if run.dry_run else ""
    for named in result.setup_imports:
        others = named.rows_in_import - named.rows_naming_subject
        rule = _due_words(named, run.as_of)
        if named.rows_erased:
            lines.append(
                f"  setup import {named.import_id}: {named.rows_erased} row(s) naming the "
                f"{subject.label} {would}deleted; its {others} other row(s) are kept ({rule})"
            )
        if named.rows_left:
            why = (
                "--keep-setup-imports"
                if result.keep_setup_imports
                else "they also name someone on legal hold"
            )
            lines.append(
                f"  left as is: setup import {named.import_id} ({named.rows_left} row(s) still "
                f"name the {subject.label}; {why}; {rule})"
            )
    left = result.setup_rows_left
    if run.dry_run:
        lines.append("  dry run: nothing was changed; add --apply to erase")
        return "\n".join(lines)
    if result.request is not None:
        lines.append(
            f"  request {result.request.request_id} recorded in "
            f"audit.subject_requests (received {result.request.received_on}, due "
            f"{result.request.due_on}, completed {result.request.completed_on})"
        )
    lines.append("  the subject stays erased: later extracts' rows for them are dropped")
    lines.append(
        f"  backups still hold the erased data until {run.backups_clear_on} "
        f"({backup_retention_days()} days)"
    )
    sar = (
        f"; `tinytracker sar --{subject.label}` still lists them"
        if subject.kind in ("pupil", "employee")
        else ""
    )
    if run.physically_erased and left:
        lines.append(
            f"  warehouse file rewritten: what this run erased is gone from its bytes, but the "
            f"{left} setup-import row(s) left as is still hold the {subject.label}'s "
            f"identifiers until they are deleted{sar}"
        )
    elif run.physically_erased:
        lines.append(f"  {physical_erasure_words(run)}")
    elif left:
        lines.append(f"  {left} setup-import row(s) left as is still name the {subject.label}")
    if run.rewrite_due is not None:
        lines.append(
            f"  derived rows deleted now: {run.derived_rows_deleted:,} (intermediate tables, "
            "retention plan)"
        )
        lines.append(
            "  NOT YET rewritten: the erased values are still in the warehouse file's bytes "
            "(and the marts and analyst copy not yet rebuilt) until the next nightly retention "
            f"run, {run.rewrite_due:%Y-%m-%d %H:%M} London, or `tinytracker retention apply`; "
            "pending in `tinytracker report` (--rewrite-now does it at once)"
        )
    return "\n".join(lines)
