"""Run config of a retention run. A run launched by hand is a dry run unless told otherwise."""

import dagster as dg
from pydantic import Field


class RetentionRunConfig(dg.Config):
    as_of: str | None = Field(
        default=None,
        description="Evaluation date YYYY-MM-DD; empty = today (Europe/London). The schedule "
        "sets the date it was scheduled for. An apply (dry_run false) refuses a "
        "date after today; a dry run may simulate any date.",
    )
    dry_run: bool = Field(
        default=True,
        description="True (the default for a hand-launched run): plan and log only, nothing "
        "changes. The 02:00 schedule sets false to apply.",
    )
