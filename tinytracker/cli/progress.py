"""The progress display of the CLI: what the library reports (core/progress.py), drawn with rich
on stderr while a step runs, and gone when it ends.

Shown only to a person: when stdout is a terminal and neither ``--quiet`` nor ``--json`` is
given. The live display exists only while a step is running, so text a step prints (a dbt
subprocess writing to the terminal between steps) never mixes with it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tinytracker.core import progress

DBT_KEY = -1
"""The one task every dbt node advances (dbt reports nodes, not steps)."""
DBT_DONE = frozenset({"success", "pass", "warn", "fail", "error", "skipped", "no-op", "skip"})


def wanted(quiet: bool, json_output: bool) -> bool:
    """Whether to show progress: to a person at a terminal only."""
    return not quiet and not json_output and sys.stdout.isatty() and sys.stderr.isatty()


class RichListener:
    """A :class:`tinytracker.core.progress.Listener` drawing rich progress bars on stderr."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console(stderr=True)
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.tasks: dict[int, Any] = {}
        self.lock = threading.RLock()
        self.live = False
        self.dbt_done = 0

    def _show(self) -> None:
        if not self.live:
            self.bars.start()
            self.live = True

    def _hide_if_idle(self) -> None:
        if self.live and not self.tasks:
            self.bars.stop()
            self.live = False

    def start(self, key: int, description: str, total: int | None, unit: str) -> None:
        with self.lock:
            self._show()
            self.tasks[key] = self.bars.add_task(description, total=total)

    def advance(self, key: int, amount: int, description: str | None) -> None:
        with self.lock:
            task = self.tasks.get(key)
            if task is None:
                return
            if description is None:
                self.bars.advance(task, amount)
            else:
                self.bars.update(task, advance=amount, description=description)

    def finish(self, key: int) -> None:
        with self.lock:
            task = self.tasks.pop(key, None)
            if task is not None:
                self.bars.remove_task(task)
            self._hide_if_idle()

    def note(self, text: str) -> None:
        with self.lock:
            self.console.print(text, style="dim", highlight=False)

    def dbt_node(self, name: str, status: str, index: int, total: int) -> None:
        with self.lock:
            task = self.tasks.get(DBT_KEY)
            if task is None:
                self._show()
                self.dbt_done = 0
                task = self.tasks[DBT_KEY] = self.bars.add_task("dbt", total=total)
            if status == "started":
                self.bars.update(task, total=total, description=f"dbt: {name}")
                return
            if status in DBT_DONE:
                self.dbt_done += 1
                self.bars.update(task, total=total, completed=self.dbt_done)
            if self.dbt_done >= total:
                self.finish(DBT_KEY)

    def close(self) -> None:
        with self.lock:
            self.tasks.clear()
            self._hide_if_idle()


@contextmanager
def display(enabled: bool) -> Iterator[None]:
    """Show the library's progress for the block when ``enabled``; nothing otherwise."""
    if not enabled:
        yield
        return
    listener = RichListener()
    previous = progress.install(listener)
    try:
        yield
    finally:
        progress.install(previous)
        listener.close()
