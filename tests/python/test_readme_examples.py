"""The demo holds on any day, and the README's examples run as written on it.

``make demo`` (tinytracker/cli/demo.sh) is built once for this module, in a temporary folder.
Each ```console block of the README then runs, verbatim, in one bash session on a copy of it,
and each command's output must be what the README states; the Python example runs against the
demo's analyst copy. Then the demo runs once more, up to its apply, under a frozen clock years
from today: the retention outcome it prints must be the same as today's (only the real dates of
the actions differ).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from readme_examples import (
    PROJECT,
    README,
    console_blocks,
    lines_match,
    python_examples,
    run_block,
    run_python,
    workplace,
)

DEMO = PROJECT / "tinytracker" / "cli" / "demo.sh"
CLOCK = Path(__file__).resolve().parent / "clock"


def run_demo(
    folder: Path, *, pupils: int | None = None, clock: str | None = None, last_step: int = 8
) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTRACKER_", "DBT_"))}
    env.pop("DAGSTER_HOME", None)
    env["DEMO_DIR"] = str(folder)
    env["DEMO_LAST_STEP"] = str(last_step)
    if pupils:
        env["DEMO_PUPILS"] = str(pupils)
    if clock:
        env["TINYTRACKER_TEST_CLOCK"] = clock
        env["PYTHONPATH"] = str(CLOCK)
    completed = subprocess.run(
        ["bash", str(DEMO)], env=env, capture_output=True, text=True, timeout=3600
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return completed.stdout


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``make demo``'s folder and what it printed, on today's clock."""
    folder = tmp_path_factory.mktemp("readme") / "demo"
    return folder, run_demo(folder)


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, str]) -> Path:
    return demo_run[0]


def test_the_readme_examples_run_verbatim_on_the_demo(demo: Path, tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    blocks = console_blocks(text)
    assert sum(len(block) for block in blocks) >= 10, "the README lost its examples"
    cwd = workplace(demo, tmp_path)
    problems = []
    for block in blocks:
        run_block(block, cwd)
        for example in block:
            if not lines_match(example.expected, example.actual or []):
                problems.append(
                    f"$ {example.command}\n--- README says:\n" + "\n".join(example.expected)
                    + "\n--- it printed:\n" + "\n".join(example.actual or [])
                )  # fmt: skip
    for code, expected in python_examples(text):
        actual = run_python(code, cwd)
        if not lines_match(expected, actual):
            problems.append("python example\n--- it printed:\n" + "\n".join(actual))
    assert not problems, "\n\n".join(problems)


def test_the_demo_shows_its_date_and_the_ui_and_docs_find_its_warehouse(demo: Path) -> None:
    env_sh = (demo / "env.sh").read_text(encoding="utf-8")
    assert "export TINYTRACKER_AS_OF=2025-07-18" in env_sh
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRACKER_")}
    shown = subprocess.run(
        ["bash", "-c", f"source {demo}/env.sh && echo $TINYTRACKER_DB"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert shown == str(demo / "tinytracker.duckdb")
    # make docs without a warehouse anywhere says what to do in one line, no traceback
    docs = subprocess.run(
        ["make", "--no-print-directory", "docs", f"DEMO_DIR={demo.parent / 'nowhere'}"],
        cwd=PROJECT, env={**env, "TINYTRACKER_DB": "/nonexistent/tinytracker.duckdb"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert docs.returncode != 0 and "Traceback" not in docs.stdout + docs.stderr
    assert "no warehouse at /nonexistent/tinytracker.duckdb: run make demo" in docs.stdout


def test_the_demo_ends_with_the_checks_as_they_stand_after_its_apply(
    demo_run: tuple[Path, str],
) -> None:
    """The build before the apply warns of the backlog the apply clears; the DPO page the demo
    ends with must show the check as it stands after the apply, not that earlier warning."""
    output = demo_run[1]
    before_apply = output.split("== 5.")[0]
    assert re.search(r"WARN [\d]+ overdue_personal_data", before_apply), before_apply[-2000:]
    after_apply = output.split("== 5.")[1].split("== 6.")[0]
    assert "Compliance check after the apply" in after_apply
    assert re.search(r"1 of 1 PASS overdue_personal_data \.+ \[.*PASS", after_apply), after_apply
    page = output.split("== 8.")[1]
    assert re.search(r"^\s+0\s+subjects overdue", page, re.M), page
    assert re.search(r"^\s+0\s+compliance checks not passed", page, re.M), page


def retention_outcome(output: str) -> list[str]:
    """The plan and apply tables the demo prints in steps 4 and 5: rules, tables, counts (run
    ids and the real date of the action left out)."""
    lines = []
    for line in output.split("== 6.")[0].splitlines():
        if re.match(r"\s+[a-z_0-9]+\s+raw\.[a-z_]+\s+(delete|anonymise)\s", line) or re.match(
            r"\s+[\d,]+ subjects; [\d,]+ rows", line
        ):
            lines.append(line)
        elif line.startswith(("retention plan", "retention apply")):
            lines.append(line.split(" - run ")[0])
    return lines


def test_the_demo_prints_the_same_retention_outcome_whatever_the_day(
    demo_run: tuple[Path, str], tmp_path: Path
) -> None:
    today = demo_run[1]  # the module's demo, on the real clock
    # up to the apply (step 5): the outcome compared is printed by steps 4 and 5
    later = run_demo(tmp_path / "later", clock="2031-09-20T10:00:00", last_step=5)
    outcome = retention_outcome(today)
    assert any(line.startswith("retention apply for 2025-07-18") for line in outcome)
    assert len(outcome) > 6, today
    assert retention_outcome(later) == outcome
    # the clocks were really different: the action is dated with each day's date
    actioned_today = re.findall(r"actioned on (\d{4}-\d{2}-\d{2})", today)
    assert actioned_today and "2031-09-20" not in actioned_today
    assert "actioned on 2031-09-20" in later
