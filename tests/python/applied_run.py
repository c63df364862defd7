"""The shared apply of tests/python/conftest.py, in a module of its own: it is pickled to pass
from the xdist worker that built it to the others, and a class defined in a conftest cannot be
found again by name (tests/python and tests/reliability both have a module called conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinytracker.erasure.result import RunResult


@dataclass(frozen=True)
class AppliedRun:
    """One apply on a reloaded copy of the template, with the warehouse as it was just before."""

    before: Path
    after: Path
    result: RunResult
    planned: RunResult  # the dry run of the same plan just before
    extract: Path  # the extract with columns beyond the contract
    dpo_before_simulation: tuple[list[tuple], list[tuple], str]
    dpo_after_simulation: tuple[list[tuple], list[tuple], str]
    simulation: tuple[int, str, str]  # `tinytracker retention plan --as-of SIMULATED_AS_OF`
    target: Path  # dbt's target folder of the commands above (manifests, shared by workers)
