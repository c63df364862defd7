"""Tell the orchestrator what a command did, so its view of the data is true whichever way the
work ran (a scheduled Dagster job or a person at the CLI).

The library knows nothing of Dagster (an import-linter contract). A recorder is any callable
registered under the entry-point group ``tinytracker.run_recorders`` (pyproject.toml); it is
given a :class:`RunRecord` after every command that changed data and decides for itself
whether it has anywhere to record it (the Dagster recorder,
``orchestration/lib/cli_runs.py``, records only when ``DAGSTER_HOME`` is set). A recorder that
fails prints one warning line: the command's work is done and its exit code stands.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tinytracker.cli.output import Outcome
from tinytracker.core.dbt import target_dir
from tinytracker.core.paths import db_path

ENTRY_POINT_GROUP = "tinytracker.run_recorders"


@dataclass(frozen=True)
class RunRecord:
    """What one command did, for a recorder.

    ``result`` is the library's own result object: ``LoadResult`` (load), ``BuildResult``
    (build), ``RunResult`` (retention apply), ``ErasureResult`` (erase), ``PublishResult``
    (publish), ``Backup`` (backup create), ``RestoreResult`` (backup restore). ``summary`` is
    the command's JSON result (docs/cli-json.md). ``dbt_target`` holds the
    ``run_results.json`` of the command's last dbt invocation, if it ran dbt.
    """

    command: str
    as_of: dt.date | None
    exit_code: int
    result: Any
    summary: Mapping[str, Any]
    warehouse: Path
    dbt_target: Path
    recorded_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )


Recorder = Callable[[RunRecord], None]


def recorders() -> list[tuple[str, Recorder]]:
    """Every recorder installed (entry points of :data:`ENTRY_POINT_GROUP`)."""
    found: list[tuple[str, Recorder]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append((entry.name, entry.load()))
        except Exception as exc:  # a broken plug-in must not break the command
            print(f"tinytracker: run recorder {entry.name} not loaded: {exc}", file=sys.stderr)
    return found


def record(command: str, outcome: Outcome) -> None:
    """Hand what ``command`` did to every recorder; a failing recorder only warns."""
    run = RunRecord(
        command=command,
        as_of=outcome.as_of,
        exit_code=int(outcome.exit_code),
        result=outcome.record,
        summary=outcome.data or {},
        warehouse=db_path(),
        dbt_target=target_dir(),
    )
    for name, recorder in recorders():
        try:
            recorder(run)
        except Exception as exc:
            print(
                f"tinytracker {command}: warning: the run was not recorded by {name}: {exc}",
                file=sys.stderr,
            )
