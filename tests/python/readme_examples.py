"""Run the README's examples: every ```console block (``$ command`` then its stated output) in one
bash session per block, and every ```python block followed by a ```text block of its output.

Matching is exact line by line, except that ``...`` inside a line stands for any text and a line
that is only ``...`` for any number of lines (run ids, request ids, today's dates and the
temporary folder differ from run to run). ``python tests/python/readme_examples.py DEMO_DIR``
prints what each example prints now, to update the README by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
README = PROJECT / "README.md"
MARKER = "@@@ example output @@@"


@dataclass
class Example:
    command: str
    expected: list[str]
    actual: list[str] | None = None


def console_blocks(text: str) -> list[list[Example]]:
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        examples: list[Example] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                examples.append(Example(line[2:], []))
            elif examples:
                examples[-1].expected.append(line.rstrip())
        blocks.append(examples)
    return blocks


def python_examples(text: str) -> list[tuple[str, list[str]]]:
    return [
        (code, output.rstrip("\n").splitlines())
        for code, output in re.findall(r"```python\n(.*?)```\n[^`]*?```text\n(.*?)```", text, re.S)
    ]


def line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """``expected`` against ``actual``: a line ``...`` matches any number of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(lines_match(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and line_matches(head, actual[0]) and lines_match(rest, actual[1:])


def example_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTRACKER_", "DBT_"))}
    env["PATH"] = f"{PROJECT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return env


def run_block(examples: list[Example], cwd: Path) -> None:
    """Run a block's commands in one bash (``source`` carries over); fill ``actual``."""
    script = "".join(f"echo '{MARKER}'\n{example.command} 2>&1\n" for example in examples)
    completed = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=example_env(), capture_output=True, text=True,
        timeout=3600,
    )  # fmt: skip
    outputs = completed.stdout.split(MARKER + "\n")[1:]
    for example, output in zip(examples, outputs + [""] * len(examples)):
        example.actual = output.rstrip("\n").splitlines()


def run_python(code: str, cwd: Path) -> list[str]:
    completed = subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "python"), "-c", code], cwd=cwd, env=example_env(),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return (completed.stdout + completed.stderr).rstrip("\n").splitlines()


def workplace(demo: Path, root: Path) -> Path:
    """A folder where the README's relative paths work: ``demo/`` a copy of the built demo (its
    extract left out) and ``warehouse/analytics.duckdb`` the demo's analyst copy."""
    shutil.copytree(demo, root / "demo", ignore=shutil.ignore_patterns("extract"))
    (root / "warehouse").mkdir()
    shutil.copy(demo / "analytics.duckdb", root / "warehouse" / "analytics.duckdb")
    return root


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cwd = workplace(Path(sys.argv[1]).resolve(), Path(tmp))
        text = README.read_text(encoding="utf-8")
        for block in console_blocks(text):
            run_block(block, cwd)
            for example in block:
                print(f"$ {example.command}")
                print("\n".join(example.actual or []))
            print("-" * 40)
        for code, _ in python_examples(text):
            print("\n".join(run_python(code, cwd)))
