"""docs/retention-schedule.md is the policy seeds rendered, and the seeds quote the policy.

A stale schedule would tell the DPO one thing while the warehouse does another; a paraphrased
clause would no longer be the policy; a stale list of rule models would leave a rule out of
retention_status. All fail here.
"""

from __future__ import annotations

import csv
import re

import pytest

from tinytracker.core.paths import PROJECT_DIR
from tinytracker.retention import generate, schedule_doc

# The privacy policy and the rules spec as committed with the project (docs/policy/), so the
# checks run on any clone; test_policy_copies_match_the_shared_originals keeps them current.
POLICY_DIR = PROJECT_DIR / "docs" / "policy"
POLICY = POLICY_DIR / "privacy-policy.txt"
RULES_SPEC = POLICY_DIR / "retention-rules-spec.md"
SHARED_DIR = PROJECT_DIR.parent / "shared"


def seed(name: str) -> list[dict[str, str]]:
    return schedule_doc.read_seed(name)


def test_committed_schedule_matches_a_fresh_render_of_the_seeds():
    committed = schedule_doc.SCHEDULE_PATH.read_text(encoding="utf-8")
    assert committed == schedule_doc.render_from_seeds(), (
        "docs/retention-schedule.md is stale: run python -m tinytracker.retention.generate"
    )


def test_committed_rule_model_list_names_one_model_per_seeded_rule():
    committed = generate.RULE_MODELS_PATH.read_text(encoding="utf-8")
    assert committed == generate.rule_models_from_seeds(), (
        "macros/retention/seeded_retention_rule_models.sql is stale: "
        "run python -m tinytracker.retention.generate"
    )
    for rule in seed("retention_rules"):
        assert f"'retention_due_{rule['rule_id']}'," in committed


def test_every_seeded_rule_has_its_model_file():
    """What dbt would say at parse time, said sooner and with the file to write."""
    rules_dir = PROJECT_DIR / "models" / "retention" / "rules"
    models = {path.stem for path in rules_dir.glob("retention_due_*.sql")}
    seeded = {generate.rule_model_name(rule["rule_id"]) for rule in seed("retention_rules")}
    assert models == seeded, (
        f"models/retention/rules holds {sorted(models)}, the seed names {sorted(seeded)}: "
        "see docs/adding-a-rule.md"
    )
    yamls = {path.stem for path in rules_dir.glob("retention_due_*.yml")}
    assert yamls == models, "every rule model has its own YAML beside it"


def test_check_mode_names_each_stale_generated_file(tmp_path, monkeypatch, capsys):
    stale_doc = tmp_path / "retention-schedule.md"
    stale_doc.write_text("# Retention schedule\n\nold text\n", encoding="utf-8")
    stale_macro = tmp_path / "seeded_retention_rule_models.sql"
    monkeypatch.setattr(schedule_doc, "SCHEDULE_PATH", stale_doc)
    monkeypatch.setattr(generate, "RULE_MODELS_PATH", stale_macro)
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert f"{stale_doc} is stale" in err and f"{stale_macro} is stale" in err
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0
    assert stale_macro.read_text(encoding="utf-8") == generate.rule_models_from_seeds()


def test_every_rule_quotes_its_clause_and_states_its_period():
    document = schedule_doc.render_from_seeds()
    for rule in seed("retention_rules"):
        assert f"## `{rule['rule_id']}`" in document
        assert f"> **{rule['policy_heading']}:** {rule['policy_clause']}" in document
        period = schedule_doc.period_text(rule["period_value"], rule["period_unit"])
        assert rule["due_on_formula"].replace("{period}", period) in document
    for note in seed("retention_interpretations"):
        assert f"### `{note['interpretation_id']}`" in document


def test_quoted_clauses_are_verbatim_from_the_privacy_policy():
    policy = POLICY.read_text(encoding="utf-8")
    for rule in seed("retention_rules"):
        assert f"**{rule['policy_heading']}:** {rule['policy_clause']}" in policy, rule["rule_id"]
    for clause in seed("retention_general_clauses"):
        assert clause["policy_clause"] in policy, clause["clause_id"]


def test_seed_has_exactly_the_rule_ids_of_the_spec():
    spec = RULES_SPEC.read_text(encoding="utf-8")
    spec_ids = set(re.findall(r"^\| `([a-z0-9_]+)` \|", spec, flags=re.MULTILINE))
    assert spec_ids == {rule["rule_id"] for rule in seed("retention_rules")}


def test_every_rule_maps_its_action_to_its_own_table_first():
    with open(schedule_doc.POLICY_SEEDS_DIR / "retention_actions.csv", encoding="utf-8") as fh:
        actions = list(csv.DictReader(fh))
    first_steps = {a["rule_id"]: a for a in actions if a["step"] == "1"}
    for rule in seed("retention_rules"):
        step = first_steps[rule["rule_id"]]
        assert step["subject_kind"] == rule["subject_kind"]
        assert step["operation"] == rule["action"]


@pytest.mark.skipif(not SHARED_DIR.exists(), reason="no shared/ reference folder beside this clone")
def test_policy_copies_match_the_shared_originals():
    """Where the team's reference folder is present, the committed copies must equal it."""
    assert POLICY.read_bytes() == (SHARED_DIR / "privacy-policy.txt").read_bytes()
    assert RULES_SPEC.read_bytes() == (SHARED_DIR / "spec" / "retention-rules.md").read_bytes()


def test_request_rule_ids_are_exactly_the_ids_the_erasure_code_writes():
    """The seed is how the rights code's ids become documented rule ids: the two must agree
    on every (rule id, subject kind) pair, or retention_status fails its relationships test
    and audit.retention_log names a step the DPO cannot look up."""
    from tinytracker.rights import erasure
    from tinytracker.rights.subjects import CLI_KINDS

    written = {(erasure.ERASURE_RULE, kind) for kind in CLI_KINDS.values()}
    written |= {(rule_id, kind) for kind, rule_id in erasure.RELATED_RULES.items()}
    written |= {(erasure.SETUP_ROWS_RULE, "setup_import")}
    written |= {(erasure.QUARANTINE_RULE, kind) for kind in CLI_KINDS.values()}
    documented = {(r["rule_id"], r["subject_kind"]) for r in seed("retention_request_rules")}
    assert documented == written
    assert {r["requested_by"] for r in seed("retention_request_rules")} == {erasure.REQUESTED_BY}


def test_request_rules_take_the_action_of_their_kind_and_never_reuse_a_rule_id():
    """A request does to a subject what the calendar rules do to that kind of subject. The
    quarantined copies of a person's rows are deleted whatever the kind, as a scheduled
    anonymisation deletes them (raw.quarantine keeps raw values, which cannot be re-keyed)."""
    from tinytracker.rights import erasure

    rules = seed("retention_rules")
    kind_actions = {(r["subject_kind"], r["action"]) for r in rules}
    for request in seed("retention_request_rules"):
        if request["rule_id"] == erasure.QUARANTINE_RULE:
            assert request["action"] == "delete"
            continue
        assert (request["subject_kind"], request["action"]) in kind_actions, request["rule_id"]
    assert not {r["rule_id"] for r in seed("retention_request_rules")} & {
        r["rule_id"] for r in rules
    }


def test_request_rules_quote_the_policy_verbatim_and_are_in_the_schedule():
    policy = POLICY.read_text(encoding="utf-8")
    document = schedule_doc.render_from_seeds()
    for request in seed("retention_request_rules"):
        assert request["policy_clause"] in policy, request["rule_id"]
        assert f"> {request['policy_clause']}" in document
        assert f"| `{request['rule_id']}` | {request['subject_kind']} |" in document
