"""Run config of the DPO report."""

import dagster as dg
from pydantic import Field


class DpoReportConfig(dg.Config):
    as_of: str | None = Field(
        default=None,
        description="Evaluation date YYYY-MM-DD; empty = the date the retention models are "
        "built for. Another date is refused: the statuses would not be that day's. The "
        "sensors set the as_of of the retention apply they follow.",
    )
