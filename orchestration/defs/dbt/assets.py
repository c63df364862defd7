"""Every dbt model and seed as a Dagster asset; dbt tests surface as asset checks.

One ``dbt build`` streams events for every selected node. It runs in the ``warehouse`` pool
(DuckDB: one writer) and takes ``as_of`` from run config, so the nightly schedule builds the
retention models for the date it was scheduled for (passed in the environment, not in dbt's
vars, so dbt does not parse the project again for each new date).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.dbt.command import dbt_build_args, dbt_build_env
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
    # one writer for the whole build: dbt's own connections run inside the command lock; the
    # date reaches dbt's subprocess in its environment, so dbt reuses its parse every night
    with warehouse_turn(), environment(dbt_build_env(config.as_of)):
        warehouse.ensure_sources()  # a fresh warehouse has every source table dbt reads
        yield from dbt.cli(
            dbt_build_args(config.as_of, config.full_tests), context=context
        ).stream()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in os.environ for the length of the block (the dbt subprocess inherits it)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
