"""``dpo_report``: the DPO page and the record of processing, kept per date.

Written to ``reports/<as_of>/`` beside the backup folder (env TINYTRACKER_BACKUP_DIR's
parent) by :func:`tinytracker.reporting.html_report.write_nightly_report`, the same code as
``tinytracker report --html``. It reads the warehouse read-only, in the warehouse pool.
"""

import dagster as dg

from orchestration.defs.dbt.assets import tinytracker_dbt_assets
from orchestration.defs.failures import user_errors_as_failure
from orchestration.defs.reporting.config import DpoReportConfig
from orchestration.defs.reporting.outcome import report_metadata
from orchestration.defs.retention.assets import retention_run
from orchestration.defs.warehouse.pool import WAREHOUSE_POOL
from orchestration.defs.warehouse.resources import WarehouseResource
from tinytracker.core.dates import parse_date
from tinytracker.reporting.html_report import format_report, write_nightly_report

# the page reads every relation of schema reporting (dbt), after the retention run
REPORTING_KEYS = sorted(
    (key for key in tinytracker_dbt_assets.keys if key.path[0] == "reporting"),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key="dpo_report",
    group_name="reporting",
    deps=[retention_run, *REPORTING_KEYS],
    pool=WAREHOUSE_POOL,  # opens the warehouse (read-only): no writer may hold it meanwhile
    kinds={"html"},
    description="The data-protection officer's page (report.html: held, due, done, held "
    "back, requests, sharing, landing, checks, with plots) and the record of processing "
    "(ropa.csv, ropa.md), written to reports/<as_of>/ beside the backup folder. Requested "
    "after every applied retention run, successful or not.",
)
def dpo_report(
    context: dg.AssetExecutionContext, config: DpoReportConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with user_errors_as_failure():
        as_of = parse_date(config.as_of.strip() if config.as_of else None, "run config as_of")
        result = write_nightly_report(as_of, db=warehouse.path())
    context.log.info(format_report(result))
    return dg.MaterializeResult(metadata=report_metadata(result))
