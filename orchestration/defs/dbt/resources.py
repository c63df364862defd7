"""The dbt project and CLI resource, shared by every dbt asset and job.

dbt's profile reads the warehouse file from env ``TINYTRACKER_DB``, the same variable as the
loader, the retention runs and the ``warehouse`` resource: one setting moves everything.
"""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from tinytracker.core.paths import PROJECT_DIR

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target="dev")

# The dbt installed beside this interpreter, so Dagster never picks up another one on PATH
# (and works when the venv's bin is not on PATH at all, e.g. `.venv/bin/dagster dev`).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def prepare_if_dev() -> None:
    """In `dagster dev`, re-parse the project on load so the assets match the models on disk;
    elsewhere `make validate` (and the tests) run `dbt parse` first.

    dagster-dbt's own ``DbtProject.prepare_if_dev()`` runs the ``dbt`` found on PATH, which is
    not there when dagster is started from the venv without activating it.
    """
    if dbt_project.preparer.using_dagster_dev():
        DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=dbt_project.target_path
        ).wait()


prepare_if_dev()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)}
    )
