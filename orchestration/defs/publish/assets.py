"""``analyst_marts``: the marts copied into the read-only analyst database after each build."""

import dagster as dg

from orchestration.defs.dbt.assets import tinytracker_dbt_assets
from orchestration.defs.publish.report import publish_metadata
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from orchestration.defs.warehouse.turn import warehouse_turn
from tinytracker.publishing.publish import publish_marts

# publish copies every table of schema marts: depend on every dbt asset in that schema
MART_KEYS = sorted(
    (key for key in tinytracker_dbt_assets.keys if key.path[0] == "marts"),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key="analyst_marts",
    group_name="publish",
    deps=MART_KEYS,
    pool=WAREHOUSE_POOL,  # reads the warehouse: no other process may hold it meanwhile
    kinds={"duckdb", "parquet"},
    description="The tables of schema marts, copied into the analyst database "
    "(env TINYTRACKER_ANALYTICS_DB) and one Parquet file per mart. "
    "Analysts never open the warehouse.",
)
def analyst_marts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse_turn():
        result = publish_marts(warehouse_db=warehouse.path())
    context.log.info(f"published {len(result.row_counts)} marts to {result.analytics_db}")
    return dg.MaterializeResult(metadata=publish_metadata(result))
