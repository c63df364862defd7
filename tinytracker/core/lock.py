"""One command at a time on a warehouse, for the whole command, dbt's own connections included.

DuckDB's single-writer lock covers one connection, and a command opens several: its own, then
dbt's (a separate process) for a build, then its own again for the file rewrite. Between them
another command could slip in: a build started during an apply took DuckDB's lock from dbt's
connection and failed with a raw traceback, leaving erased values in the file until a later
apply. So every command that opens the warehouse holds an advisory lock on ``<warehouse>.lock``
(``flock``) from start to end. A second command waits up to ``TINYTRACKER_LOCK_WAIT_SECONDS``
for its turn and then fails with one clear "busy" message naming the command that holds it.

The lock is re-entrant within a process (a task that calls another keeps it) and the kernel
releases it when the holding process dies, even by ``kill -9``: a killed command never leaves
the warehouse locked.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tinytracker.core import progress
from tinytracker.core.errors import BusyError
from tinytracker.core.paths import db_path

LOCK_WAIT_ENV = "TINYTRACKER_LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.2

_held: dict[Path, tuple[int, int]] = {}
"""Lock file -> (file descriptor, depth) for the locks this process holds."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def wait_seconds() -> float:
    """How long a command waits for another to finish (env ``TINYTRACKER_LOCK_WAIT_SECONDS``)."""
    try:
        return float(os.environ.get(LOCK_WAIT_ENV, DEFAULT_WAIT_SECONDS))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def _holder(path: Path) -> str:
    """What the lock file says about the command holding it (pid and command line)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another command"
    return text or "another command"


def holds_lock(db: Path | None = None) -> bool:
    """Whether this process holds the command lock on ``db``."""
    return lock_path((db or db_path()).resolve()) in _held


@contextmanager
def command_lock(db: Path | None = None, *, wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse's command lock for the block (waiting up to ``wait`` seconds)."""
    path = lock_path((db or db_path()).resolve())
    if path in _held:
        fd, depth = _held[path]
        _held[path] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[path]
            _held[path] = (fd, depth - 1)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, wait_seconds() if wait is None else wait)
    except BaseException:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {' '.join(sys.argv) or 'python'}\n".encode())
        _held[path] = (fd, 1)
        yield
    finally:
        _held.pop(path, None)
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _acquire(fd: int, path: Path, wait: float) -> None:
    if _try_lock(fd):
        return
    holder = _holder(path)
    started = time.monotonic()
    deadline = started + wait
    # a person at a terminal sees whom they are waiting for and how long is left
    with progress.task(f"waiting for {holder}", total=max(1, round(wait)), unit="s") as shown:
        shown_seconds = 0
        while not _try_lock(fd):
            now = time.monotonic()
            if now >= deadline:
                raise BusyError(
                    f"warehouse {path.with_suffix('')} is busy: {_holder(path)} is running on it "
                    f"(waited {wait:.0f}s). Commands run one at a time; try again when it has "
                    f"finished, or wait longer with {LOCK_WAIT_ENV}."
                ) from None
            elapsed = int(now - started)
            if elapsed > shown_seconds:
                shown.advance(
                    elapsed - shown_seconds,
                    f"waiting for {holder}: {deadline - now:.0f}s left before giving up",
                )
                shown_seconds = elapsed
            time.sleep(POLL_SECONDS)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
