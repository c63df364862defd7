"""``kill -9`` at a random moment, not only at the named fault points: the next run of the same
command ends where a clean run ends, and no erased value survives."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_crash import (
    erased_values,
    files_holding,
    leftovers,
    only_of_the_erased,
    run_on,
    state,
)

from helpers import LONG, TT, read

SEED = 20261205


def kill_after(args: list[str], env: dict[str, str], seconds: float) -> int:
    """Start the CLI, SIGKILL it after ``seconds`` (if still running); its return code."""
    process = subprocess.Popen(
        [*TT, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    return process.wait()


def counts(db: Path) -> list[tuple[object, ...]]:
    """Rows per landing table and in the quarantine: what a complete load leaves."""
    return read(
        db,
        """
        select 'pupils', count(*) from raw.pupils union all
        select 'contacts', count(*) from raw.pupil_contacts union all
        select 'attendance', count(*) from raw.attendance_sessions union all
        select 'assessments', count(*) from raw.assessments union all
        select 'employees', count(*) from raw.employees union all
        select 'quarantine', count(*) from raw.quarantine order by 1""",
    )


def env_for(db: Path) -> dict[str, str]:
    return {
        "TINYTRACKER_DB": str(db),
        "TINYTRACKER_BACKUP_DIR": str(db.parent / "backups"),
        "TINYTRACKER_ANALYTICS_DB": str(db.parent / "analytics.duckdb"),
    }


@pytest.mark.parametrize("attempt", range(10 if LONG else 2))
def test_a_load_killed_at_a_random_moment_leaves_a_warehouse_the_rerun_completes(
    synthetic_template, tmp_path: Path, attempt: int
) -> None:
    extract = str(synthetic_template.extract)
    reference = tmp_path / "clean" / "warehouse.duckdb"
    assert run_on(reference, "load", extract).returncode in (0, 4)
    db = tmp_path / "killed" / "warehouse.duckdb"
    moment = random.Random(SEED + attempt).uniform(0.3, 4.0)

    kill_after(["load", extract], env_for(db), moment)
    assert run_on(db, "load", extract).returncode in (0, 4)

    assert counts(db) == counts(reference)


@pytest.mark.long
@pytest.mark.parametrize("attempt", range(10))
def test_an_apply_killed_at_a_random_moment_is_finished_by_the_next_run(
    synthetic_template, synthetic_warehouse: Path, tmp_path: Path, attempt: int
) -> None:
    db = synthetic_warehouse
    reference = tmp_path / "reference" / db.name
    reference.parent.mkdir()
    shutil.copy(db, reference)
    as_of = synthetic_template.as_of.isoformat()
    candidates = erased_values(db)
    assert run_on(reference, "retention", "apply", "--as-of", as_of, "--no-build").returncode == 0
    values = only_of_the_erased(candidates, reference)
    moment = random.Random(SEED + 100 + attempt).uniform(0.5, 25.0)

    kill_after(["retention", "apply", "--as-of", as_of, "--no-build"], env_for(db), moment)
    again = run_on(db, "retention", "apply", "--as-of", as_of)
    assert again.returncode == 0, again.stderr

    assert state(db) == state(reference)
    assert not leftovers(db.parent)
    assert not files_holding(db.parent, values, skip=set())
