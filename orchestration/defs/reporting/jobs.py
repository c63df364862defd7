"""``write_dpo_report``: the DPO page on its own, requested after each retention apply."""

import dagster as dg

from orchestration.defs.reporting.assets import dpo_report

dpo_report_job = dg.define_asset_job(
    name="write_dpo_report",
    selection=dg.AssetSelection.assets(dpo_report),
    description="Write the DPO page and the record of processing for as_of "
    "(ops.dpo_report.config.as_of, empty = the date the retention models are built for). "
    "The sensors request it after every applied retention run.",
)
