"""The SQL of one erasure statement: a delete or an anonymising update for one step group.

``run_steps`` (a temp table: the plan rows joined to each subject's surrogate) is filtered to
the group by the parameters ``rule_id, step, columns_to_clear`` ($1, $2, $3); every statement
is set-based, one per group, never one per subject or row.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytracker.core.errors import TinyTrackerError
from tinytracker.core.schema import ANONYMISED_TABLES
from tinytracker.erasure.plan import key_expression

STAMPED_TABLES = frozenset(f"raw.{name}" for name in ANONYMISED_TABLES)
"""Tables whose anonymised rows record when (``anonymised_on``) and by which rule."""


def statement(
    table: str,
    action: str,
    key_column: str,
    rekey_column: str | None,
    columns_to_clear: Sequence[str],
) -> tuple[str, bool]:
    """SQL for one (rule, step, columns) group of ``run_steps``, and whether it also takes
    $4, the action date stamped on anonymised subjects."""
    target_key = key_expression(key_column, table_alias="target")
    group = (
        "run_steps.rule_id = $1 and run_steps.step = $2 "
        "and run_steps.columns_to_clear is not distinct from $3"
    )
    match = (
        f"target.organisation_id = run_steps.organisation_id "
        f"and {target_key} = run_steps.subject_id and {group}"
    )
    if action == "delete":
        return f"delete from {table} as target using run_steps where {match}", False
    if action != "anonymise":
        raise TinyTrackerError(f"retention plan has unknown action {action!r} for {table}")
    assignments = [f"{column} = null" for column in columns_to_clear]
    if rekey_column:
        assignments.append(f"{rekey_column} = run_steps.surrogate_id")
    stamps_date = table in STAMPED_TABLES
    if stamps_date:
        assignments += ["anonymised_on = $4::date", "anonymised_by_rule_id = run_steps.rule_id"]
    if not assignments:
        raise TinyTrackerError(f"retention plan step on {table} changes no column")
    sql = f"update {table} as target set {', '.join(assignments)} from run_steps where {match}"
    return sql, stamps_date
