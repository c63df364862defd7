"""The dbt arguments of the Dagster build, kept apart from the decorator so they can be tested."""

from __future__ import annotations

from tinytracker.core.dates import parse_date
from tinytracker.core.dbt import PRODUCTION_EXCLUDES

AS_OF_ENV = "TINYTRACKER_AS_OF"


def dbt_build_args(as_of: str | None, full_tests: bool = False) -> list[str]:
    """``dbt build`` for the nightly run; the date goes in the environment (:func:`dbt_build_env`).

    Not in ``--vars``: dbt parses the whole project again whenever its vars change, which a
    new date every night would force (macro ``as_of`` reads env ``TINYTRACKER_AS_OF`` when a
    node is compiled). The date is checked here (YYYY-MM-DD) so a typo in the run config fails
    before dbt starts, with the project's own error message.

    ``full_tests`` (the weekly build) is a var: dbt parses the project again for it, once a
    week, which costs seconds; the daily builds keep their parse.
    """
    parse_date(as_of.strip() if as_of else None, "run config as_of")
    args = ["build", *PRODUCTION_EXCLUDES]  # unit tests run in CI, not on the nightly build
    return [*args, "--vars", "{full_tests: true}"] if full_tests else args


def dbt_build_env(as_of: str | None) -> dict[str, str]:
    """The environment the nightly ``dbt build`` subprocess gets its ``as_of`` from."""
    as_of_date = parse_date(as_of.strip() if as_of else None, "run config as_of")
    return {AS_OF_ENV: as_of_date.isoformat() if as_of_date is not None else ""}
