"""Named fault points: where the reliability suite kills a command to prove it recovers.

Every step boundary a real kill could fall on in an erasure, load, restore, backup or publish
calls :func:`reached` with its name. Normally that does nothing. With
``TINYTRACKER_FAULT=<name>`` (or ``<name>:<n>`` for the n-th time it is reached) in the
environment, the process kills itself there with SIGKILL, exactly like ``kill -9``: no
``finally`` runs, no file is closed, nothing is flushed. The suite (``tests/reliability/``)
runs each command once per point, then runs it again and checks that the warehouse ended as a
clean run leaves it and that no erased value survives anywhere.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "TINYTRACKER_FAULT"

_counts: dict[str, int] = {}


def reached(point: str) -> None:
    """Mark a step boundary; kill the process here if the environment asks for it."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
