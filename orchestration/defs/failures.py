"""Turn the project's user-facing errors into a Dagster failure with a one-line message.

A :class:`~tinytracker.core.errors.TinyTrackerError` (bad input, a refused request, a locked
warehouse) fails the step with its message as the failure description, like the CLI prints it;
anything else is a bug and keeps its traceback.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from tinytracker.core.errors import TinyTrackerError


@contextmanager
def user_errors_as_failure() -> Iterator[None]:
    try:
        yield
    except TinyTrackerError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
