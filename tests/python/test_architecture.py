"""The structure the code relies on, checked so that a change which breaks it fails a test.

- Only the erasure engine (tinytracker/erasure/) deletes, updates or anonymises rows of raw.*;
  the loader's upsert (tinytracker/loading/upsert.py) is the one other writer. A second writer
  would be a second place where erased data could be changed or brought back unaudited.
- No Python file grows past about 400 lines (the limit tested is 450).
- orchestration/ is only the Dagster code location, and the library never imports it or
  Dagster: the CLI, the tests and Dagster share one library, and the layers point one way
  (import-linter's contracts in pyproject.toml, run here so that ``make pytest`` alone catches
  a broken layer).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
MAX_LINES = 450
RAW_WRITERS_ALLOWED = ("tinytracker/erasure/", "tinytracker/loading/upsert.py")
SQL_SCANNED = ("tinytracker", "orchestration")
LINE_LIMITED = ("tinytracker", "orchestration", "bench", "tests")
ORCHESTRATION_ENTRIES = {"__init__.py", "definitions.py", "defs", "dagster_home"}

# A statement that changes rows of a raw.* table: the verb, then the table (a schema written
# "raw" or raw, then a dot; in an f-string the table name is often a placeholder: raw.{name}).
RAW_WRITE = re.compile(
    r"\b(?:delete\s+from|update|insert\s+(?:or\s+\w+\s+)?into|merge\s+into|truncate(?:\s+table)?)"
    r"\s+\"?raw\"?\s*\.",
    re.IGNORECASE,
)


def python_files(*roots: str) -> Iterator[Path]:
    for root in roots:
        for path in sorted((PROJECT / root).rglob("*.py")):
            parts = path.relative_to(PROJECT).parts
            if "__pycache__" in parts or parts[:2] == ("bench", "out"):
                continue
            yield path


def string_literals(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal; an f-string's placeholders become ``{expr}``."""
    tree = ast.parse(source)
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value
                if isinstance(part, ast.Constant)
                else "{" + ast.unparse(part.value) + "}"
                for part in node.values
            )
            yield node.lineno, text
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in inside_fstrings
        ):
            yield node.lineno, node.value


def raw_writes(source: str) -> list[tuple[int, str]]:
    """(line, statement start) of every SQL text in ``source`` that writes to raw.*."""
    found = []
    for line, text in string_literals(source):
        for match in RAW_WRITE.finditer(text):
            found.append((line, " ".join(text[match.start() : match.end() + 30].split())))
    return found


def test_the_scanner_finds_writes_to_raw_in_plain_and_f_strings():
    bad = '''
def purge(con, name, org):
    con.execute(f"delete from raw.{name} where organisation_id = ?", [org])
    con.execute("UPDATE  RAW.pupils SET upn = null")
    con.execute(
        "insert into raw.pupils "
        "select * from staged"
    )
    con.execute(f"""
        merge into "raw".{name} as target using tt_clean as source on true
    """)
    con.execute("truncate table raw.quarantine")
'''
    assert [line for line, _ in raw_writes(bad)] == [3, 4, 6, 9, 12]
    harmless = """
def read(con, name):
    con.execute(f"select * from raw.{name}")
    con.execute("delete from audit.legal_holds where hold_id = ?")
    con.execute("update tt_stage set line = 1")
    con.execute("create table raw.pupils as select 1")
    log("the update of raw rows is audited")  # prose: no table after the verb
"""
    assert raw_writes(harmless) == []


def test_only_the_erasure_engine_and_the_loaders_upsert_write_to_raw_tables():
    offenders = []
    for path in python_files(*SQL_SCANNED):
        relative = path.relative_to(PROJECT).as_posix()
        if relative.startswith(RAW_WRITERS_ALLOWED):
            continue
        offenders += [
            f"{relative}:{line}: {text}" for line, text in raw_writes(path.read_text("utf-8"))
        ]
    assert not offenders, (
        "only tinytracker/erasure/ (and the loader's upsert) may change rows of raw.*; "
        "call the erasure engine instead:\n" + "\n".join(offenders)
    )


def test_the_allowed_writers_are_still_where_the_scan_expects_them():
    """If the engine or the upsert moved, the exception above would silently cover nothing."""
    upsert = (PROJECT / "tinytracker/loading/upsert.py").read_text("utf-8")
    assert raw_writes(upsert), "the loader's upsert no longer writes raw.*: update this test"
    engine = [
        write
        for path in python_files("tinytracker/erasure")
        for write in raw_writes(path.read_text("utf-8"))
    ]
    assert engine, "the erasure engine no longer writes raw.* with SQL text: update this test"


def test_no_python_file_is_over_450_lines():
    long = []
    for path in python_files(*LINE_LIMITED):
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{path.relative_to(PROJECT)}: {lines} lines")
    assert not long, f"split these by responsibility (limit {MAX_LINES} lines):\n" + "\n".join(long)


def test_orchestration_holds_only_the_dagster_code_location():
    def real(path: Path) -> bool:
        """Not a byte-code cache, nor a folder left holding only one (a module moved away)."""
        if path.name == "__pycache__":
            return False
        return path.is_file() or any(
            f.is_file() and "__pycache__" not in f.parts for f in path.rglob("*")
        )

    entries = {p.name for p in (PROJECT / "orchestration").iterdir() if real(p)}
    stray = sorted(entries - ORCHESTRATION_ENTRIES)
    assert not stray, (
        "orchestration/ is the Dagster code location only (definitions.py, defs/, "
        f"dagster_home/); library code belongs in tinytracker/: {stray}"
    )
    assert {"definitions.py", "defs"} <= entries


def imported_modules(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


@pytest.mark.parametrize("forbidden", ["orchestration", "dagster", "dagster_dbt"])
def test_the_library_never_imports_the_code_location_or_dagster(forbidden: str):
    offenders = [
        f"{path.relative_to(PROJECT)} imports {module}"
        for path in python_files("tinytracker")
        for module in imported_modules(path.read_text("utf-8"))
        if module == forbidden or module.startswith(forbidden + ".")
    ]
    assert not offenders, "\n".join(offenders)


def test_the_import_layers_hold():
    """import-linter's contracts (pyproject.toml): layers one way, no Dagster in the library,
    no import cycles between sibling modules."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
