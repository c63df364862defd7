"""A step's turn on the warehouse: the command lock held, user errors as a Dagster failure.

The ``warehouse`` pool keeps Dagster's own steps one at a time; the command lock
(:mod:`tinytracker.core.lock`) also keeps out a CLI command started meanwhile, and makes a step
wait for one already running instead of failing on DuckDB's lock part-way through.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from orchestration.defs.failures import user_errors_as_failure
from tinytracker.core.lock import command_lock
from tinytracker.tasks import clean_leftovers


@contextmanager
def warehouse_turn() -> Iterator[None]:
    with user_errors_as_failure(), command_lock():
        clean_leftovers()  # what a killed command or step left, before this one starts
        yield
