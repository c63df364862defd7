"""Shared fixtures: one small synthetic trust, generated, loaded and built once per session.

Tests that change the warehouse take a private copy (``synthetic_warehouse``), so they can
run in any order. Everything points at its files through the same environment variables
the CLI and Dagster read (TINYTRACKER_DB, TINYTRACKER_SECRET, ...).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import paths, secret
from tinytracker.core.dbt import run_dbt_build
from tinytracker.generator import GeneratorConfig, generate_extract
from tinytracker.loading.run import load_extract

SYNTHETIC_AS_OF = dt.date(2025, 10, 1)
TEST_SECRET = "test-secret-0123456789abcdef"

# dbt writes a debug log of every statement (each mart's SQL is tens of KB) beside every build:
# about a second of a small build. Tests keep dbt's info-level file log, which says what ran
# and what failed; a user's own builds keep dbt's default.
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")


@dataclass(frozen=True)
class SyntheticTemplate:
    root: Path
    extract: Path
    db: Path
    as_of: dt.date


def point_environment_at(monkeypatch: pytest.MonkeyPatch, root: Path, db: Path) -> None:
    monkeypatch.setenv(paths.DB_ENV, str(db))
    monkeypatch.setenv(secret.SECRET_ENV, TEST_SECRET)
    monkeypatch.setenv("DBT_TARGET_PATH", str(root / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(root / "logs"))
    monkeypatch.setenv("TINYTRACKER_ANALYTICS_DB", str(db.parent / "analytics.duckdb"))
    monkeypatch.setenv("TINYTRACKER_BACKUP_DIR", str(db.parent / "backups"))


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyntheticTemplate]:
    """A 7-organisation trust (every contract state), loaded and built for 2025-10-01."""
    root = tmp_path_factory.mktemp("synthetic_trust")
    extract = root / "extract"
    generate_extract(GeneratorConfig(out=extract, organisations=7, pupils=280, years=2, seed=5))
    db = root / "template" / "warehouse.duckdb"
    db.parent.mkdir()
    with pytest.MonkeyPatch.context() as env:
        point_environment_at(env, root, db)
        load_extract(extract)
        assert run_dbt_build(SYNTHETIC_AS_OF) == 0
    yield SyntheticTemplate(root, extract, db, SYNTHETIC_AS_OF)


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
