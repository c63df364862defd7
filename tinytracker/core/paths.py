"""Where things live: the project, the warehouse file and the backups, from the environment.

Every path a command reads or writes comes from here, so one environment variable points the
CLI, Dagster, dbt's profile and the tests at the same file.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SEEDS_DIR = PROJECT_DIR / "seeds"
DEFAULT_DB = "warehouse/tinytracker.duckdb"
DB_ENV = "TINYTRACKER_DB"
BACKUP_DIR_ENV = "TINYTRACKER_BACKUP_DIR"


def in_project(value: str | Path) -> Path:
    """``value`` as an absolute path, relative paths taken from the project folder."""
    path = Path(value)
    return path if path.is_absolute() else PROJECT_DIR / path


def db_path() -> Path:
    """The warehouse file: env ``TINYTRACKER_DB`` (relative to the project) or the default."""
    return in_project(os.environ.get(DB_ENV, DEFAULT_DB))


def backup_dir() -> Path:
    """The backups folder: env ``TINYTRACKER_BACKUP_DIR`` (relative to the project) or
    ``backups/``. The erasure ledger lives inside it."""
    return in_project(os.environ.get(BACKUP_DIR_ENV, "backups"))
