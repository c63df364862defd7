"""Progress hooks: a long step of the library says what it is doing and how far it is.

A load of a large extract, the statements of a retention apply, the file rewrite after an
erasure, a wait for another command's lock (core/lock.py) and every dbt node can each pass two
seconds; a person at a terminal should see what is happening, a script or Dagster should not
get bars in its logs. So the library only *reports* (these functions, which do nothing by
default) and the one place that decides whether and how to show it installs a
:class:`Listener`: the CLI does, when stdout is a terminal and ``--quiet``/``--json`` are not
given (``tinytracker/cli/progress.py``). Nothing here prints.

The listener is process-wide, not per context: dbt run in process calls back from its own
threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Listener(Protocol):
    """What a progress display implements (every method must return quickly and never raise)."""

    def start(self, key: int, description: str, total: int | None, unit: str) -> None:
        """A step began: ``total`` units of ``unit`` (None: unknown, show a spinner)."""

    def advance(self, key: int, amount: int, description: str | None) -> None:
        """``amount`` more units done; a new ``description`` replaces the old one."""

    def finish(self, key: int) -> None:
        """The step ended (done or failed)."""

    def note(self, text: str) -> None:
        """One line about what happens next, e.g. before dbt starts parsing the project."""

    def dbt_node(self, name: str, status: str, index: int, total: int) -> None:
        """A dbt node started (``status`` ``"started"``) or finished (dbt's result status)."""


_listener: Listener | None = None
_next_key = 0


def install(listener: Listener | None) -> Listener | None:
    """Make ``listener`` receive every report (None: nobody); returns the previous one."""
    global _listener
    previous, _listener = _listener, listener
    return previous


class Task:
    """One step being reported: :meth:`advance` it as units are done."""

    def __init__(self, key: int) -> None:
        self.key = key

    def advance(self, amount: int = 1, description: str | None = None) -> None:
        if _listener is not None:
            _listener.advance(self.key, amount, description)


@contextmanager
def task(description: str, total: int | None = None, unit: str = "") -> Iterator[Task]:
    """Report a step for the block: ``with progress.task("applying", total=n) as t: ...``."""
    global _next_key
    _next_key += 1
    current = Task(_next_key)
    listener = _listener
    if listener is not None:
        listener.start(current.key, description, total, unit)
    try:
        yield current
    finally:
        if listener is not None:
            listener.finish(current.key)


def note(text: str) -> None:
    """Say in one line what happens next (shown only where progress is shown)."""
    if _listener is not None:
        _listener.note(text)


def dbt_node(name: str, status: str, index: int, total: int) -> None:
    """For the dbt runner: call it when a node starts (``status="started"``) and when it
    finishes (dbt's status: success, pass, warn, fail, error, skipped), with the node's
    position ``index`` (1-based) among ``total`` selected nodes."""
    if _listener is not None:
        _listener.dbt_node(name, status, index, total)
