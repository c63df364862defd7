"""What a command hands back to ``main``: its exit code, its result as JSON, what it did.

With ``--json`` the command's result is one JSON document on stdout (the envelope below, its
``result`` described per command in docs/cli-json.md and ``tinytracker/cli/schemas/``), and
everything written for people, dbt's own lines included, goes to stderr: ``main`` points both
Python's ``sys.stdout`` and file descriptor 1 (which a dbt subprocess inherits) at stderr for
the length of the command, then prints the document on the real stdout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tinytracker.core.errors import ExitCode

SCHEMA_VERSION = 1
"""Version of the envelope and of every result schema: bumped on an incompatible change."""


@dataclass
class Outcome:
    """A command's result: ``data`` is the JSON ``result``; ``record`` the library's own result
    object (for the run recorders: Dagster); ``warning`` a last line for stderr."""

    data: Mapping[str, Any] | None = None
    exit_code: int = ExitCode.OK
    warning: str | None = None
    record: Any = None
    as_of: dt.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def outcome_name(code: int) -> str:
    """The class of an exit code as the envelope's ``outcome`` (``ok``, ``refused``, ...)."""
    try:
        return ExitCode(code).name.lower()
    except ValueError:
        return "failed"


def envelope(
    command: str, exit_code: int, result: Mapping[str, Any] | None, message: str | None
) -> dict[str, Any]:
    """The JSON document of every command (docs/cli-json.md, schemas/envelope.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "exit_code": int(exit_code),
        "outcome": outcome_name(exit_code),
        "message": message,
        "result": jsonable(result) if result is not None else None,
    }


def jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO text, paths as text, dataclasses and mappings as objects."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[TextIO]:
    """Send everything written to stdout, by Python or a child process, to stderr for the
    block; yields the real stdout for the one JSON document."""
    real = sys.stdout
    real.flush()
    sys.stderr.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (a closed stdout): Python-level redirect only
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield real
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
