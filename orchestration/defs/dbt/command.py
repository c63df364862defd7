"""The dbt arguments of the Dagster build, kept apart from the decorator so they can be tested."""

from __future__ import annotations

import json

from orchestration.dbt_runner import PRODUCTION_EXCLUDES, parse_as_of


def dbt_build_args(as_of: str | None) -> list[str]:
    """``dbt build`` with ``--vars`` carrying ``as_of`` when a date is given.

    The date is checked here (YYYY-MM-DD) so a typo in the run config fails before dbt starts,
    with the project's own error message, instead of as a dbt compilation error.
    """
    args = ["build", *PRODUCTION_EXCLUDES]  # unit tests run in CI, not on the nightly build
    as_of_date = parse_as_of(as_of.strip() if as_of else None)
    if as_of_date is not None:
        args += ["--vars", json.dumps({"as_of": as_of_date.isoformat()})]
    return args
