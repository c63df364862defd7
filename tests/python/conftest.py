"""Shared fixtures: one small synthetic trust, generated, loaded and built once per session,
and one real retention apply on it (``applied``), shared by the test_retention_apply*.py files.

Tests that change the warehouse take a private copy (``synthetic_warehouse``, ``after_apply``),
so they can run in any order. Everything points at its files through the same environment
variables the CLI and Dagster read (TINYTRACKER_DB, TINYTRACKER_SECRET, ...).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import io
import os
import pickle
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from applied_run import AppliedRun

from tinytracker import tasks
from tinytracker.cli import main as cli
from tinytracker.core import paths, secret
from tinytracker.core.dbt import run_dbt_build
from tinytracker.generator import GeneratorConfig, generate_extract
from tinytracker.loading.run import load_extract

SYNTHETIC_AS_OF = dt.date(2025, 10, 1)
TEST_SECRET = "test-secret-0123456789abcdef"
SIMULATED_AS_OF = "2029-06-01"  # a dry run may simulate any date, the future included
# one column beyond the landing contract per file an anonymise step touches: the loader keeps
# it in _extra, and it is personal data like any other
EXTRA_COLUMNS = {
    "pupils": "nhs_number",
    "employees": "home_address",
    "attendance_sessions": "register_note",
    "assessments": "marker_comment",
    "sen_records": "keyworker_note",
    "reports": "parent_comment",
}

# dbt writes a debug log of every statement (each mart's SQL is tens of KB) beside every build,
# and even at info level its file log cost 6% of a small build (19.2 s against 20.5 s, 1,000
# pupils). Tests write none: what ran and what failed is in the output pytest captures and shows
# with a failure. A user's own builds keep dbt's default.
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "none")

# One dbt thread and one DuckDB thread per test process (env TINYTRACKER_THREADS, which the CLI
# and the tests' subprocesses inherit). make test runs a pytest worker per core, so the default
# (two dbt threads, DuckDB one per core) puts four busy threads on each core, and on warehouses
# of a few hundred pupils the extra threads only add switching: a 300-pupil `tinytracker build`
# took 23 s of CPU with one thread against 26-29 s with the default, and five of the heaviest
# test files 261 s of CPU against 283 s (148 s wall against 156 s). The default threads are
# still what make test's dbt build, its benchmark smoke and the README's demo runs use.
os.environ.setdefault("TINYTRACKER_THREADS", "1")


# Test files that take a minute or more, slowest first (pytest --durations, 2026-12-06). xdist
# hands whole files to its two workers in collection order (make test passes
# --no-loadscope-reorder; by default it orders files by their number of tests, which put the
# three-test README file, the slowest, last and left one worker alone at the end). Starting the
# long files first lets both workers finish together. Order only: every test still runs.
SLOWEST_FIRST = (
    "test_readme_examples.py",
    "test_crash.py",
    "test_files_and_build.py",
    "test_dagster_runs.py",
    "test_adding_a_rule.py",
    "test_bench.py",
    "test_marts_acro.py",
    "test_backup_restore.py",
    "test_rights_organisation.py",
    "test_cli_dagster_recording.py",
    "test_dpo_report_browser.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable within a file


_THIS_MODULE = sys.modules[__name__]


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Make ``from conftest import ...`` in this folder's test modules mean this file.

    tests/reliability has a conftest.py too, and pytest imports the conftest of every test path
    before it collects: by then the module name ``conftest`` is the one imported last. Pointed
    back here before each of this folder's modules is imported (this hook runs only for them).
    """
    if isinstance(collector, pytest.Module):
        sys.modules["conftest"] = _THIS_MODULE


@dataclass(frozen=True)
class SyntheticTemplate:
    root: Path
    extract: Path
    db: Path
    as_of: dt.date
    built_target: Path  # dbt's target folder of the build (its manifest), shared by workers


def point_environment_at(monkeypatch: pytest.MonkeyPatch, root: Path, db: Path) -> None:
    monkeypatch.setenv(paths.DB_ENV, str(db))
    monkeypatch.setenv(secret.SECRET_ENV, TEST_SECRET)
    monkeypatch.setenv("DBT_TARGET_PATH", str(root / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(root / "logs"))
    monkeypatch.setenv("TINYTRACKER_ANALYTICS_DB", str(db.parent / "analytics.duckdb"))
    monkeypatch.setenv("TINYTRACKER_BACKUP_DIR", str(db.parent / "backups"))


@contextlib.contextmanager
def built_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A folder built once per test run and shared by every xdist worker: yields the folder
    and whether this worker must build it (holding a lock the others wait on meanwhile).

    Fixtures that only read what they build (a loaded and built trust, one real apply) cost a
    dbt build each; per worker they were built once for every core.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, shared by its workers
    folder = base / f"shared-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = folder / ".built"
            yield folder, not done.exists()
            done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyntheticTemplate]:
    """A 7-organisation trust (every contract state), loaded and built for 2025-10-01.

    Generated, loaded and built once per test run (shared by the xdist workers, read-only);
    each worker has its own ``root`` for dbt's target and logs."""
    root = tmp_path_factory.mktemp("synthetic_trust")
    with built_once(tmp_path_factory, "synthetic_trust") as (shared, build):
        extract = shared / "extract"
        db = shared / "template" / "warehouse.duckdb"
        if build:
            generate_extract(
                GeneratorConfig(out=extract, organisations=7, pupils=280, years=2, seed=5)
            )
            db.parent.mkdir(exist_ok=True)
            with pytest.MonkeyPatch.context() as env:
                point_environment_at(env, root, db)
                env.setenv("DBT_TARGET_PATH", str(shared / "target"))  # its manifest, shared
                load_extract(extract)
                assert run_dbt_build(SYNTHETIC_AS_OF) == 0
    yield SyntheticTemplate(root, extract, db, SYNTHETIC_AS_OF, shared / "target")


@pytest.fixture
def synthetic_warehouse(
    synthetic_template: SyntheticTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private copy of the built synthetic warehouse, selected through the environment."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_template.db, db)
    point_environment_at(monkeypatch, synthetic_template.root, db)
    return db


@pytest.fixture
def wh(synthetic_warehouse: Path) -> Path:
    """The private synthetic warehouse, under the short name most tests use."""
    return synthetic_warehouse


def read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` from the warehouse file ``db``, opened read-only and closed again."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ------------------------------------------------ one real retention apply, shared by a session


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``tinytracker ARGV`` in process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def dpo_view(db: Path) -> tuple[list[tuple], list[tuple], str]:
    """What the DPO reads: retention_status and retention_plan rows, and the report's status."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        statuses = sorted(
            con.execute("select * from retention.retention_status").fetchall(), key=repr
        )
        plan = sorted(con.execute("select * from retention.retention_plan").fetchall(), key=repr)
        from tinytracker.reporting.summary import render

        report = render(con)
    finally:
        con.close()
    (status_section,) = [
        block for block in report.split("\n\n") if block.startswith("Retention status on")
    ]
    return statuses, plan, status_section


def extend_extract(source: Path, target: Path) -> Path:
    """A copy of ``source`` with a unique value in one extra column per anonymised file."""
    shutil.copytree(source, target)
    for file, column in EXTRA_COLUMNS.items():
        path = target / f"{file}.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        rows[0].append(column)
        for n, row in enumerate(rows[1:], start=1):
            row.append(f"{column.upper()}-{file[:3]}{n:07d}")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return target


@pytest.fixture(scope="session")
def applied(
    synthetic_template: SyntheticTemplate, tmp_path_factory: pytest.TempPathFactory
) -> AppliedRun:
    """One real apply on a copy of the template reloaded from its extract with a column beyond
    the contract in every file an anonymise step touches, after a dry run for a simulated date
    through the CLI. Built once per test run (shared by the xdist workers); tests only read
    its files."""
    with built_once(tmp_path_factory, "applied") as (root, build):
        saved = root / "applied.pickle"
        if not build:
            loaded: AppliedRun = pickle.loads(saved.read_bytes())
            return loaded
        extract = extend_extract(synthetic_template.extract, root / "extract")
        before, after = root / "before.duckdb", root / "after.duckdb"
        shutil.copy(synthetic_template.db, after)
        with pytest.MonkeyPatch.context() as env:
            point_environment_at(env, synthetic_template.root, after)
            env.setenv("DBT_TARGET_PATH", str(root / "target"))  # read by tests: shared
            load_extract(extract)  # the same rows, now with _extra values
            dpo_before = dpo_view(after)
            simulation = run_cli("retention", "plan", "--as-of", SIMULATED_AS_OF)
            dpo_after = dpo_view(after)
            planned = tasks.apply_retention(SYNTHETIC_AS_OF, dry_run=True, build=False)
            shutil.copy(after, before)
            result = tasks.apply_retention(SYNTHETIC_AS_OF, dry_run=False, build=False)
        run = AppliedRun(
            before,
            after,
            result,
            planned,
            extract,
            dpo_before,
            dpo_after,
            simulation,
            root / "target",
        )
        saved.write_bytes(pickle.dumps(run))
        return run


@pytest.fixture
def after_apply(
    applied: AppliedRun,
    synthetic_template: SyntheticTemplate,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A private copy of the warehouse after the apply, selected through the environment."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(applied.after, db)
    point_environment_at(monkeypatch, synthetic_template.root, db)
    return db
