"""Adding a retention rule takes the files and the command docs/adding-a-rule.md lists, no more.

The project is copied to a temporary folder (the files git knows, as they are now), the page's
worked example is applied to the copy exactly as the page shows it (the edits are read from
the page, so page and test cannot drift apart), and the command it names is run. Then the
copy differs from the project in those files only, and the copy's own code and dbt project
build, plan and apply on a small synthetic trust: the new rule is in retention_status,
retention_plan, audit.retention_log and the schedule, and the contacts it made due are gone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from conftest import TEST_SECRET

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOC = PROJECT_DIR / "docs" / "adding-a-rule.md"
RULE_ID = "contacts_1m_after_pupil_left"
AS_OF = "2025-10-01"
STEP = re.compile(
    r"<!-- add-a-rule: (append|create|run)(?: (\S+))? -->\n```[a-z]*\n(.*?)```", re.DOTALL
)
GENERATED = {"docs/retention-schedule.md", "macros/retention/seeded_retention_rule_models.sql"}
"""What the page's command rewrites; everything else that changes is a file the page lists."""
BUILD_OUTPUT = {"target", "logs", "__pycache__", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Step:
    action: str  # append, create or run
    path: str | None
    text: str


def doc_steps() -> list[Step]:
    return [Step(action, path, text) for action, path, text in STEP.findall(DOC.read_text())]


def project_files() -> list[str]:
    """The files of the project as a clone would have them, with the uncommitted edits."""
    if shutil.which("git") is None or not (PROJECT_DIR / ".git").exists():
        pytest.skip("needs the project as a git checkout (the copy is what git tracks)")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (PROJECT_DIR / name).is_file()]


def changed_files(copy: Path) -> set[str]:
    """Files of the copy (build output aside) that are new or differ from the project's."""
    changed = set()
    for path in copy.rglob("*"):
        relative = path.relative_to(copy)
        if path.is_dir() or BUILD_OUTPUT & set(relative.parts):
            continue
        original = PROJECT_DIR / relative
        if not original.is_file() or original.read_bytes() != path.read_bytes():
            changed.add(relative.as_posix())
    return changed


@dataclass
class Pipeline:
    copy: Path
    db: Path
    env: dict[str, str]
    outputs: dict[str, str]

    def run(self, name: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        """One CLI command with the copy's code: its package first on the path, run from it."""
        done = subprocess.run(
            [sys.executable, "-m", "tinytracker.cli.main", *args],
            cwd=self.copy,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode in ok, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        self.outputs[name] = done.stdout
        return done.stdout

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Pipeline, dict[str, object]]]:
    """The copy with the example rule added, loaded, built, planned, then applied; the facts
    each stage leaves are kept, since the next stage changes the warehouse."""
    root = tmp_path_factory.mktemp("adding_a_rule")
    copy = root / "project"
    for name in project_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / name, copy / name)
    for step in doc_steps():
        if step.action == "run":
            command = step.text.split()
            assert command[0] == ".venv/bin/python", step.text
            subprocess.run([sys.executable, *command[1:]], cwd=copy, check=True, env=_env(copy))
        elif step.action == "append":
            with open(copy / step.path, "a", encoding="utf-8") as handle:
                handle.write(step.text)
        else:
            (copy / step.path).write_text(step.text, encoding="utf-8")
    db = root / "warehouse" / "tinytracker.duckdb"
    env = _env(copy) | {
        "TINYTRACKER_DB": str(db),
        "TINYTRACKER_SECRET": TEST_SECRET,
        "TINYTRACKER_ANALYTICS_DB": str(root / "warehouse" / "analytics.duckdb"),
        "TINYTRACKER_BACKUP_DIR": str(root / "backups"),
        "DBT_TARGET_PATH": str(copy / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
    }
    run = Pipeline(copy, db, env, {})
    extract = root / "extract"
    run.run("generate", "generate", "--out", str(extract), "--organisations", "7",
            "--pupils", "150", "--years", "1", "--seed", "11")  # fmt: skip
    run.run("load", "load", str(extract), ok=(0, 4))  # 4: one organisation's MIS is revoked
    run.run("build", "build", "--as-of", AS_OF)
    facts: dict[str, object] = {
        "status_after_build": dict(
            run.query(
                f"select status, count(*) from retention.retention_status "
                f"where rule_id = '{RULE_ID}' and is_winning_rule group by status"
            )
        ),
        "planned_contacts": set(
            run.query(
                "select organisation_id, subject_id from retention.retention_plan "
                f"where rule_id = '{RULE_ID}' and table_name = 'raw.pupil_contacts'"
            )
        ),
    }
    run.run("plan", "retention", "plan", "--as-of", AS_OF)
    # the plan the build made for AS_OF (holds are re-read all the same)
    run.run("apply", "retention", "apply", "--as-of", AS_OF, "--no-build")
    yield run, facts


def _env(copy: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(copy), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def test_the_page_lists_exactly_the_files_a_new_rule_changes(pipeline) -> None:
    run, _ = pipeline
    edited = {step.path for step in doc_steps() if step.action != "run"}
    assert edited == {
        "seeds/policy/retention_rules.csv",
        "seeds/policy/retention_actions.csv",
        f"models/retention/rules/retention_due_{RULE_ID}.sql",
        f"models/retention/rules/retention_due_{RULE_ID}.yml",
    }
    assert changed_files(run.copy) == edited | GENERATED
    table = DOC.read_text().split("## Worked example")[0]
    for path in sorted(GENERATED) + ["seeds/policy/retention_rules.csv"]:
        assert f"`{path}`" in table, f"the page's table of files does not name {path}"


def test_the_copy_runs_its_own_code_and_dbt_project(pipeline) -> None:
    run, _ = pipeline
    where = subprocess.run(
        [sys.executable, "-c", "from tinytracker.core import paths; print(paths.PROJECT_DIR)"],
        cwd=run.copy,
        env=run.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == run.copy


def test_new_rule_is_in_the_regenerated_schedule(pipeline) -> None:
    run, _ = pipeline
    schedule = (run.copy / "docs" / "retention-schedule.md").read_text(encoding="utf-8")
    assert f"## `{RULE_ID}`" in schedule
    assert f"| `{RULE_ID}` | Named pupil contacts" in schedule
    assert "`leaving_date + 1 month`" in schedule


def test_new_rule_makes_contacts_due_in_the_status_and_the_plan(pipeline) -> None:
    _, facts = pipeline
    assert facts["status_after_build"].get("due", 0) > 0
    assert len(facts["planned_contacts"]) == facts["status_after_build"]["due"]


def test_new_rule_is_in_the_dry_run_and_the_apply_of_the_audit_log(pipeline) -> None:
    run, facts = pipeline
    logged = run.query(
        "select is_dry_run, table_name, sum(rows_affected) from audit.retention_log "
        f"where rule_id = '{RULE_ID}' group by all"
    )
    by_run = {(dry, table): rows for dry, table, rows in logged}
    planned = len(facts["planned_contacts"])
    assert by_run[(True, "raw.pupil_contacts")] == planned
    assert by_run[(False, "raw.pupil_contacts")] == planned
    assert RULE_ID in run.outputs["plan"] and RULE_ID in run.outputs["apply"]


def test_new_rule_deleted_its_contacts_and_shows_them_actioned(pipeline) -> None:
    run, facts = pipeline
    planned = facts["planned_contacts"]
    left = set(run.query("select organisation_id, contact_id from raw.pupil_contacts"))
    assert planned and not planned & left
    suppressed = run.query(
        "select count(*) from audit.erasure_suppressions "
        f"where rule_id = '{RULE_ID}' and subject_kind = 'pupil_contact'"
    )
    assert suppressed == [(len(planned),)]
    actioned = run.query(
        "select count(*) from retention.retention_status "
        f"where rule_id = '{RULE_ID}' and status = 'actioned'"
    )
    assert actioned == [(len(planned),)]
