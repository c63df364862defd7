"""Helpers shared by the Dagster tests: the definitions, loaded once per module.

dagster-dbt reads target/manifest.json when the definitions are imported, so
:func:`ensure_dbt_manifest` first runs `dbt parse` (as `make validate` does) unless the manifest
is newer than the project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tinytracker.core.paths import PROJECT_DIR

BIN = Path(sys.executable).parent
PROJECT_INPUTS = ("models", "seeds", "macros", "tests", "dbt_project.yml")


def ensure_dbt_manifest() -> None:
    """`dbt parse` into the project's target/ when the manifest is missing or older than the
    dbt project (dagster-dbt loads it at import; parse never opens the warehouse)."""
    manifest = PROJECT_DIR / "target" / "manifest.json"
    if manifest.exists():
        built = manifest.stat().st_mtime
        newest = max(
            (
                p.stat().st_mtime
                for name in PROJECT_INPUTS
                for p in (
                    [PROJECT_DIR / name]
                    if (PROJECT_DIR / name).is_file()
                    else (PROJECT_DIR / name).rglob("*")
                )
                if p.is_file()
            ),
            default=0.0,
        )
        if newest <= built:
            return
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    subprocess.run(
        [str(BIN / "dbt"), "parse", "--profiles-dir", ".", "--target", "dev"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    ensure_dbt_manifest()
    from orchestration.definitions import defs

    return defs
