"""``nightly_build``: dbt build of everything (tests as asset checks), then ``analyst_marts``."""

import dagster as dg

from orchestration.defs.dbt.assets import tinytracker_dbt_assets
from orchestration.defs.publish.assets import analyst_marts

nightly_build = dg.define_asset_job(
    name="nightly_build",
    selection=dg.AssetSelection.assets(tinytracker_dbt_assets, analyst_marts),
    description="dbt build of every seed, model and test for as_of (run config "
    "ops.tinytracker_dbt_assets.config.as_of; empty = today), then publish the marts "
    "to the analyst database. Every step runs in the 'warehouse' pool.",
)
