"""The suppression macro's safety net: a partition the rounds leave unsettled is withheld."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb

from tinytracker.core import paths
from tinytracker.core.dbt import DBT_EXECUTABLE


def test_a_partition_the_rounds_leave_unsettled_is_withheld_whole(tmp_path: Path) -> None:
    """The macro's safety net: with no rounds at all (max_rounds=0) organisation A's small
    FSM cell is unsettled, so A is withheld whole (every relation then has only unknowns);
    B, with nothing small, is published; one round settles A with its complement. The
    generic test passes on every outcome."""
    project = tmp_path / "project"
    for part in ("macros",):
        shutil.copytree(paths.PROJECT_DIR / part, project / part)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(paths.PROJECT_DIR / name, project / name)
    (project / "models").mkdir()
    cells = (
        "select * from (values ('A', 'all', 'all', 20), ('A', 'fsm', 'fsm', 3), "
        "('A', 'fsm', 'not_fsm', 17), ('B', 'all', 'all', 20), ('B', 'fsm', 'fsm', 10), "
        "('B', 'fsm', 'not_fsm', 10)) "
        "as v (organisation_id, group_type, group_value, pupil_count)"
    )
    tests = []
    for rounds in (0, 1):
        (project / "models" / f"probe_{rounds}.sql").write_text(
            f"with cells as ({cells}),\n"
            "suppressed as ({{ suppress_small_cells('cells', partition_by=['organisation_id'], "
            f"measures=[], max_rounds={rounds}) }}}})\n"
            "select * from suppressed\n"
        )
        tests.append(
            f"  - name: probe_{rounds}\n    data_tests:\n"
            "      - no_recoverable_suppressed_cells:\n"
            "          arguments:\n            partition_by: [organisation_id]\n"
        )
    (project / "models" / "_probes.yml").write_text("version: 2\nmodels:\n" + "".join(tests))
    db = tmp_path / "probe.duckdb"
    completed = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "build",
            "--select",
            "probe_0",
            "probe_1",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, paths.DB_ENV: str(db)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    try:
        withheld = {
            rounds: set(
                con.execute(
                    f"select organisation_id, group_value from main.probe_{rounds} "
                    "where is_suppressed"
                ).fetchall()
            )
            for rounds in (0, 1)
        }
    finally:
        con.close()
    assert withheld[0] == {("A", "all"), ("A", "fsm"), ("A", "not_fsm")}
    assert withheld[1] == {("A", "fsm"), ("A", "not_fsm")}
