"""dbt run in process reports each node to the progress display (a build of minutes must not
be minutes of silence at a terminal): the selected count, each node's start and its result."""

from __future__ import annotations

from pathlib import Path

from tinytracker.core import progress
from tinytracker.core.dbt import run_dbt

from conftest import SYNTHETIC_AS_OF


class Recorder:
    def __init__(self) -> None:
        self.nodes: list[tuple[str, str, int, int]] = []

    def start(self, key: int, description: str, total: int | None, unit: str) -> None: ...

    def advance(self, key: int, amount: int, description: str | None) -> None: ...

    def finish(self, key: int) -> None: ...

    def note(self, text: str) -> None: ...

    def dbt_node(self, name: str, status: str, index: int, total: int) -> None:
        self.nodes.append((name, status, index, total))


def test_every_selected_node_is_reported_started_then_finished(synthetic_warehouse: Path) -> None:
    recorder = Recorder()
    previous = progress.install(recorder)
    try:
        exit_code = run_dbt(SYNTHETIC_AS_OF, ["stg_organisations", "stg_pupils"], command="run")
    finally:
        progress.install(previous)

    assert exit_code == 0
    started = {name: index for name, status, index, _ in recorder.nodes if status == "started"}
    finished = {name: status for name, status, _, _ in recorder.nodes if status != "started"}
    assert started.keys() == finished.keys() == {"stg_organisations", "stg_pupils"}
    assert sorted(started.values()) == [1, 2]
    assert set(finished.values()) == {"success"}
    assert {total for *_, total in recorder.nodes} == {2}
