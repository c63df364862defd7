"""Every dbt model and seed as a Dagster asset; dbt tests surface as asset checks."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.dbt.resources import dbt_project


@dbt_assets(manifest=dbt_project.manifest_path)
def tinytracker_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
