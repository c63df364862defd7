"""The one exception type for mistakes a user can make or fix.

The CLI prints these as a single line (no traceback); anything else is a bug and keeps its
traceback so it can be reported.
"""

from __future__ import annotations


class TinyTrackerError(Exception):
    """A problem the user can act on: bad input, a refused request, a locked warehouse."""

    exit_code = 2

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


class RefusedError(TinyTrackerError):
    """A request the policy forbids (revoked MIS permission, legal hold, no consent)."""

    exit_code = 3


class BusyError(TinyTrackerError):
    """Another command holds the warehouse: nothing was done; try again when it has finished.

    Exit code 75 is sysexits' EX_TEMPFAIL ("try again later"), so a scheduler can retry.
    """

    exit_code = 75
