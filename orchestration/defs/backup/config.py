"""Run config of the nightly backup."""

import dagster as dg
from pydantic import Field


class BackupConfig(dg.Config):
    taken_on: str | None = Field(
        default=None,
        description="Date the snapshot is named after and pruning counts from (YYYY-MM-DD); "
        "empty = today (Europe/London). The schedule sets the scheduled date.",
    )
