"""Run config of the dbt build: the evaluation date every retention model reads."""

import dagster as dg


class DbtBuildConfig(dg.Config):
    """``as_of``: YYYY-MM-DD, the evaluation date (reaches dbt in env ``TINYTRACKER_AS_OF``);
    empty = today in London. The nightly schedule sets it to the date it was scheduled for.

    ``full_tests``: every data test scans every row (dbt var ``full_tests``) instead of the rows
    this build added; the Sunday build sets it, so the cheap daily scope is backed by a weekly
    full scan."""

    as_of: str | None = None
    full_tests: bool = False
