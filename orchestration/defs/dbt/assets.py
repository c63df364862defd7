"""Every dbt model and seed as a Dagster asset; dbt tests surface as asset checks.

One ``dbt build`` streams events for every selected node. It runs in the ``warehouse`` pool
(DuckDB: one writer) and takes ``as_of`` from run config, so the nightly schedule builds the
retention models for the date it was scheduled for.
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.dbt.command import dbt_build_args
from orchestration.defs.dbt.config import DbtBuildConfig
from orchestration.defs.dbt.resources import dbt_project
from orchestration.defs.dbt.translator import dbt_translator
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.defs.warehouse.turn import warehouse_turn


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=dbt_translator,
    pool=WAREHOUSE_POOL,
)
def tinytracker_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    # one writer for the whole build: dbt's own connections run inside the command lock
    with warehouse_turn():
        warehouse.ensure_sources()  # a fresh warehouse has every source table dbt reads
        yield from dbt.cli(dbt_build_args(config.as_of), context=context).stream()
