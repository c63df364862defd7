"""Render docs/retention-schedule.md from the policy seeds, so the readable schedule is the seed.

The data-protection officer reads the schedule; the warehouse reads ``seeds/policy/*.csv``.
Generating one from the other means they cannot drift apart, and a pytest fails when the
committed document differs from a fresh render. :mod:`tinytracker.retention.generate` writes
it, with the other file derived from the seeds::

    python -m tinytracker.retention.generate          # rewrite docs/retention-schedule.md
    python -m tinytracker.retention.generate --check  # exit 1 when it is stale
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from tinytracker.core.paths import PROJECT_DIR

POLICY_SEEDS_DIR = PROJECT_DIR / "seeds" / "policy"
SCHEDULE_PATH = PROJECT_DIR / "docs" / "retention-schedule.md"

Row = Mapping[str, str]


def read_seed(name: str, seeds_dir: Path = POLICY_SEEDS_DIR) -> list[Row]:
    """Rows of one policy seed, as text (empty cells are empty strings)."""
    with open(seeds_dir / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def period_text(value: str, unit: str) -> str:
    """'2', 'year' -> '2 years'."""
    return f"{value} {unit}" + ("" if value == "1" else "s")


def quoted_clause(heading: str, clause: str) -> str:
    """The clause as the policy prints it: bold heading, colon, text."""
    return f"> **{heading}:** {clause}" if heading else f"> {clause}"


def _step_text(step: Row) -> str:
    key = step["key_column"]
    if "." in key:
        column, member = key.split(".", 1)
        where = f"rows whose `{column}` JSON names the subject as `{member}`"
    else:
        where = f"rows where `{key}` is the subject"
    text = f"`{step['table_name']}`: **{step['operation']}** {where}"
    details = []
    if step["columns_to_clear"]:
        details.append("clear " + ", ".join(f"`{c}`" for c in step["columns_to_clear"].split(",")))
    if step["columns_to_clear_unless_report_author"]:
        kept_for_authors = step["columns_to_clear_unless_report_author"].split(",")
        columns = ", ".join(f"`{c}`" for c in kept_for_authors)
        details.append(f"also clear {columns} unless the employee authored a report")
    if step["rekey_column"]:
        details.append(f"re-key `{step['rekey_column']}` to the random surrogate")
    if details:
        text += " (" + "; ".join(details) + ")"
    return f"{text}. {step['description'][:1].upper()}{step['description'][1:]}."


def _request_rules_lines(request_rules: Sequence[Row]) -> list[str]:
    """The ids of actions taken on request: each basis quoted once, then the ids it covers.

    They have no calendar, so they are not in the summary table; they are listed so that every
    rule id a status or audit row can carry is explained in the one document the DPO reads.
    """
    lines = [
        "## Actions on request (no calendar)",
        "",
        "Ids recorded when data is erased on the organisation's request before any rule makes "
        "it due (seeds/policy/retention_request_rules.csv). They have no trigger, period or "
        "`due_on`: the subject shows `actioned` under the id, and the action is the one its "
        "kind's rule would take (the same steps of seeds/policy/retention_actions.csv).",
        "",
    ]
    bases = dict.fromkeys(
        (r["policy_section"], r["policy_clause"], r["basis"]) for r in request_rules
    )
    for section, clause, basis in bases:
        covered = [
            r
            for r in request_rules
            if (r["policy_section"], r["policy_clause"], r["basis"]) == (section, clause, basis)
        ]
        lines += [
            f"Basis (privacy policy, {section}):",
            "",
            quoted_clause("", clause),
            "",
            basis,
            "",
            "| rule_id | subject kind | which subject | action | written by |",
            "|---|---|---|---|---|",
            *[
                f"| `{r['rule_id']}` | {r['subject_kind']} | {r['subject_description']} "
                f"| {r['action']}: {r['action_description']} | `{r['written_by']}` "
                f"(`requested_by` {r['requested_by']}) |"
                for r in covered
            ],
            "",
        ]
    return lines


def render_schedule(
    rules: Sequence[Row],
    actions: Sequence[Row],
    general_clauses: Sequence[Row],
    interpretations: Sequence[Row],
    request_rules: Sequence[Row] = (),
) -> str:
    """The whole Markdown document (deterministic: same seeds, same bytes)."""
    backups = next(c for c in general_clauses if c["clause_id"] == "backups_kept_90_days")
    backups_period = period_text(backups["period_value"], backups["period_unit"])
    lines = [
        "# Retention schedule",
        "",
        "<!-- Generated from seeds/policy/*.csv by "
        "`python -m tinytracker.retention.generate`. Do not edit by hand: edit the seeds "
        "and regenerate (tests/python/test_retention_schedule_doc.py fails when this is "
        "stale). -->",
        "",
        "What Tiny Tracker keeps, for how long, and what happens then: one rule per clause of the "
        "privacy policy, with the clause quoted. The warehouse evaluates every rule on a date "
        "`as_of` (`tinytracker build --as-of DATE`, default today) into "
        "`retention.retention_status` (one row per subject and rule: retained, due, actioned or "
        "on_hold) and `retention.retention_plan` (the row-level work due). Dates are calendar "
        "dates; the academic year runs 1 September to 31 August; adding months or years clamps "
        "to the end of the month (2024-02-29 + 3 years = 2027-02-28). A rule is due on `as_of` "
        "when `due_on <= as_of`; a missing trigger means no `due_on`, and the data is retained.",
        "",
        "## Summary",
        "",
        "| rule_id | data | trigger | due_on | action |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        period = period_text(rule["period_value"], rule["period_unit"])
        formula = rule["due_on_formula"].replace("{period}", period)
        lines.append(
            f"| `{rule['rule_id']}` | {rule['data_category']} | {rule['trigger_description']} "
            f"| `{formula}` | {rule['action']} |"
        )
    lines.append("")
    for rule in rules:
        period = period_text(rule["period_value"], rule["period_unit"])
        formula = rule["due_on_formula"].replace("{period}", period)
        steps = sorted(
            (a for a in actions if a["rule_id"] == rule["rule_id"]), key=lambda a: int(a["step"])
        )
        notes = [i for i in interpretations if i["rule_id"] == rule["rule_id"]]
        lines += [
            f"## `{rule['rule_id']}`",
            "",
            quoted_clause(rule["policy_heading"], rule["policy_clause"]),
            "",
            f"- **Data:** {rule['data_category']} (subject kind `{rule['subject_kind']}`).",
            f"- **Trigger:** {rule['trigger_description']}.",
            f"- **Due on:** `{formula}`.",
            f"- **Action:** {rule['action']}: {rule['action_description']}.",
            "- **What it touches** (seeds/policy/retention_actions.csv, in order):",
            *[f"  {n}. {_step_text(step)}" for n, step in enumerate(steps, start=1)],
            f"- **Backups:** the data persists in backups for {backups_period} more: "
            f"`backups_clear_on` = `actioned_on` + {backups_period} "
            f"(before the action has run: `due_on` + {backups_period}).",
        ]
        if notes:
            lines.append(
                "- **Interpretations:** "
                + ", ".join(
                    f"[`{n['interpretation_id']}`](#{n['interpretation_id']})" for n in notes
                )
                + "."
            )
        lines.append("")
    if request_rules:
        lines += _request_rules_lines(request_rules)
    lines += ["## Clauses that apply to every rule", ""]
    for clause in general_clauses:
        lines += [
            f"### {clause['topic']}",
            "",
            quoted_clause("", clause["policy_clause"]),
            "",
            f"How the project follows it: {clause['how_followed']}",
            "",
        ]
    lines += [
        "## Interpretations",
        "",
        "Where the policy is silent or ambiguous. *spec* marks a point that "
        "spec/retention-rules.md decides (marked (interp.) there, or stated as a rule); "
        "*project* marks one decided here.",
        "",
    ]
    for note in interpretations:
        applies = f"rule `{note['rule_id']}`" if note["rule_id"] else "every rule"
        lines += [
            f'<a id="{note["interpretation_id"]}"></a>',
            f"### `{note['interpretation_id']}` ({note['origin']}; {applies})",
            "",
            f"- **Question:** {note['question']}",
            f"- **Interpretation:** {note['interpretation']}",
            f"- **Enforced by:** {note['enforced_by']}",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_from_seeds(seeds_dir: Path = POLICY_SEEDS_DIR) -> str:
    """Render the schedule from the seed files on disk."""
    return render_schedule(
        read_seed("retention_rules", seeds_dir),
        read_seed("retention_actions", seeds_dir),
        read_seed("retention_general_clauses", seeds_dir),
        read_seed("retention_interpretations", seeds_dir),
        read_seed("retention_request_rules", seeds_dir),
    )
