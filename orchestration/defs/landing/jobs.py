"""``load_extract``: the job the landing sensor requests once per ready extract folder."""

import dagster as dg

from orchestration.defs.landing.ops import load_extract_folder


@dg.job(
    name="load_extract",
    description="Load one extract folder into schema raw (config "
    "ops.load_extract_folder.config.folder). Requested by landing_sensor; can be "
    "launched by hand with a folder name inside the landing folder.",
)
def load_extract_job():
    load_extract_folder()
