"""The files generated from the policy seeds, so that no other file lists the rules by hand.

``seeds/policy/*.csv`` is the policy as data. Two files follow from it and are committed, so
that people and dbt can read them without running anything:

- ``docs/retention-schedule.md``, the schedule the data-protection officer reads
  (:mod:`tinytracker.retention.schedule_doc`);
- ``macros/retention/seeded_retention_rule_models.sql``, the rule models
  ``retention_rule_subjects`` unions. dbt draws its graph while parsing, before it can look
  at the graph, so the names of a union's parents must be written down somewhere; here they
  are written by this module (``retention_due_<rule_id>`` for every rule of the seed), and the
  macro ``retention_rule_models`` checks them against the models dbt finds in
  ``models/retention/rules``.

Regenerate both after editing a seed (docs/adding-a-rule.md)::

    python -m tinytracker.retention.generate          # rewrite them
    python -m tinytracker.retention.generate --check  # exit 1, naming each stale file

tests/python/test_retention_schedule_doc.py fails while either is stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tinytracker.core.paths import PROJECT_DIR
from tinytracker.retention import schedule_doc

RULE_MODELS_PATH = PROJECT_DIR / "macros" / "retention" / "seeded_retention_rule_models.sql"
RULE_MODEL_PREFIX = "retention_due_"
COMMAND = "python -m tinytracker.retention.generate"


def rule_model_name(rule_id: str) -> str:
    """The model that evaluates a rule: ``retention_due_<rule_id>`` (the macro checks it)."""
    return f"{RULE_MODEL_PREFIX}{rule_id}"


def render_rule_models(rules: Sequence[schedule_doc.Row]) -> str:
    """The macro returning every rule model's name, in the seed's order."""
    names = "".join(f"        '{rule_model_name(rule['rule_id'])}',\n" for rule in rules)
    return (
        "{#- Generated from seeds/policy/retention_rules.csv by\n"
        f"    `{COMMAND}`: do not edit. The rule models\n"
        "    retention_rule_subjects unions, one per rule; the macro retention_rule_models\n"
        "    checks them against the models in models/retention/rules. -#}\n"
        "{% macro seeded_retention_rule_models() -%}\n"
        "    {{ return([\n"
        f"{names}"
        "    ]) }}\n"
        "{%- endmacro %}\n"
    )


def rule_models_from_seeds(seeds_dir: Path = schedule_doc.POLICY_SEEDS_DIR) -> str:
    return render_rule_models(schedule_doc.read_seed("retention_rules", seeds_dir))


def generated_files() -> dict[Path, Callable[[], str]]:
    """Every generated file and how to render it now (read at call time, so tests can point
    the paths elsewhere)."""
    return {
        schedule_doc.SCHEDULE_PATH: schedule_doc.render_from_seeds,
        RULE_MODELS_PATH: rule_models_from_seeds,
    }


def stale_files() -> list[Path]:
    """The generated files whose committed text differs from a fresh render."""
    stale = []
    for path, render in generated_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != render():
            stale.append(path)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the files derived from the policy seeds (seeds/policy/*.csv)."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if any file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"{path} is stale: run {COMMAND}", file=sys.stderr)
        return 1 if stale else 0
    for path, render in generated_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
