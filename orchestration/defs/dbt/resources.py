"""The dbt project and CLI resource, shared by every dbt asset and job."""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from orchestration.warehouse import PROJECT_DIR

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target="dev")
# In `dagster dev` the manifest is compiled on load; elsewhere `make` runs `dbt parse` first.
dbt_project.prepare_if_dev()

# The dbt installed beside this interpreter, so Dagster never picks up another one on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)}
    )
