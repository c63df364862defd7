"""The project's exception types and the exit codes they map to: the one table of exit codes.

The CLI prints these as a single line (no traceback); anything else is a bug and keeps its
traceback so it can be reported. A script or a scheduler reads the class of an outcome from the
exit code alone, so each class has one code and :data:`EXIT_CODES` is printed by
``tinytracker --help`` and copied into the README (a test keeps the two equal).
"""

from __future__ import annotations

import textwrap
from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``tinytracker`` exit code means, whichever command returned it."""

    OK = 0
    FAILED = 1
    """A check or a step failed: dbt models or tests, the byte scan after an erasure."""
    USAGE = 2
    """Bad usage: an unknown option, a malformed value, an unusable input file, or a missing
    prerequisite (no warehouse, models not built, no secret). Nothing was done."""
    REFUSED = 3
    """Understood and refused by policy: a legal hold, revoked MIS permission, no consent, a
    future date, an unknown or already erased subject. Nothing was done."""
    PARTIAL = 4
    """Part refused, the rest done: a load where an organisation's MIS permission is revoked."""
    BUSY = 75
    """Another command holds the warehouse (sysexits EX_TEMPFAIL): retry later."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C (128 + SIGINT)."""


EXIT_CODES: tuple[tuple[ExitCode, str, str], ...] = (
    (ExitCode.OK, "success", "the command did what it was asked"),
    (
        ExitCode.FAILED,
        "a check failed",
        "dbt models or tests failed, or a step's own check did (the byte scan after an "
        "erasure); read the output",
    ),
    (
        ExitCode.USAGE,
        "bad usage",
        "an unknown option, a malformed value, an unusable input file or a missing "
        "prerequisite (no warehouse, models not built, no secret); nothing was done",
    ),
    (
        ExitCode.REFUSED,
        "refused by policy",
        "a legal hold, revoked MIS permission, no consent to share, a future date, an unknown "
        "or already erased subject; nothing was done",
    ),
    (
        ExitCode.PARTIAL,
        "partial",
        "some of it was refused, the rest was done (a load with an organisation whose MIS "
        "permission is revoked)",
    ),
    (ExitCode.BUSY, "warehouse busy", "another command holds the warehouse; try again later"),
    (ExitCode.INTERRUPTED, "interrupted", "stopped by Ctrl-C"),
)
"""(code, class, meaning): the table ``tinytracker --help`` prints and the README repeats."""


def exit_code_table(width: int = 92) -> str:
    """The exit codes as aligned, wrapped text lines, for ``tinytracker --help``."""
    lines = []
    for code, name, meaning in EXIT_CODES:
        lines += textwrap.wrap(
            meaning,
            width,
            initial_indent=f"  {int(code):>3}  {name:<19}",
            subsequent_indent=" " * 26,
        )
    return "\n".join(lines)


def exit_code_name(code: int) -> str:
    """The class of an exit code (``"refused by policy"``), or ``"unknown"``."""
    for known, name, _ in EXIT_CODES:
        if known == code:
            return name
    return "unknown"


class TinyTrackerError(Exception):
    """A problem the user can act on: bad input, a missing prerequisite (exit code 2)."""

    exit_code: int = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        rule: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.rule = rule
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        suffix = f" [{rule}]" if rule else ""
        super().__init__(f"{where}{message}{suffix}")


class FailedError(TinyTrackerError):
    """A step or a check failed (a dbt build, the byte scan after an erasure): exit code 1."""

    exit_code = ExitCode.FAILED


class RefusedError(TinyTrackerError):
    """A request the policy forbids (revoked MIS permission, legal hold, no consent, a future
    date, an unknown or erased subject): exit code 3."""

    exit_code = ExitCode.REFUSED


class PartialError(TinyTrackerError):
    """Part of the request was refused and the rest done (exit code 4): raised after the work,
    so the CLI prints the result first and this line last."""

    exit_code = ExitCode.PARTIAL


class BusyError(TinyTrackerError):
    """Another command holds the warehouse: nothing was done; try again when it has finished.

    Exit code 75 is sysexits' EX_TEMPFAIL ("try again later"), so a scheduler can retry.
    """

    exit_code = ExitCode.BUSY
