"""Run config of the dbt build: the evaluation date every retention model reads."""

import dagster as dg


class DbtBuildConfig(dg.Config):
    """``as_of``: YYYY-MM-DD passed to dbt as ``--vars {as_of: ...}``; empty = dbt's
    ``current_date``. The nightly schedule sets it to the date it was scheduled for."""

    as_of: str | None = None
