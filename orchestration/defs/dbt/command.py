"""The dbt arguments of the Dagster build, kept apart from the decorator so they can be tested."""

from __future__ import annotations

import json

from tinytracker.core.dates import parse_date
from tinytracker.core.dbt import PRODUCTION_EXCLUDES


def dbt_build_args(as_of: str | None) -> list[str]:
    """``dbt build`` with ``--vars`` carrying ``as_of`` when a date is given.

    The date is checked here (YYYY-MM-DD) so a typo in the run config fails before dbt starts,
    with the project's own error message, instead of as a dbt compilation error.
    """
    args = ["build", *PRODUCTION_EXCLUDES]  # unit tests run in CI, not on the nightly build
    as_of_date = parse_date(as_of.strip() if as_of else None, "run config as_of")
    if as_of_date is not None:
        args += ["--vars", json.dumps({"as_of": as_of_date.isoformat()})]
    return args
