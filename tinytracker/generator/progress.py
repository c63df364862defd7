"""A dependency-free progress bar on stderr for the generator's stages.

On a terminal it redraws one line (``[#####-----]  45%  attendance ORG012``); when stderr is
not a terminal (CI logs, pipes) it prints one line per stage instead, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished steps out of ``total``; ``step(label)`` marks one more as done."""

    def __init__(
        self, total: int, stream: TextIO | None = None, enabled: bool = True, width: int = 30
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.started = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_stage = ""

    def step(self, label: str, stage: str | None = None) -> None:
        """One step finished; ``stage`` groups steps (one log line per stage off a terminal)."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        stage = stage or label
        elapsed = time.monotonic() - self.started
        if self.tty:
            filled = int(self.width * self.done / self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(
                f"\r[{bar}] {100 * self.done // self.total:3d}%  {elapsed:6.1f}s  {label[:40]:<40}"
            )
            self.stream.flush()
        elif stage != self._last_stage:
            self.stream.write(f"generate: {stage} ({elapsed:.1f}s)\n")
            self.stream.flush()
        self._last_stage = stage

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
