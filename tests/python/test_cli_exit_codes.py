"""One exit code per class of outcome, whichever command (core/errors.py: the table the README
and ``tinytracker --help`` print), and progress that says what a long step is doing."""

from __future__ import annotations

import fcntl
import io
from pathlib import Path

import pytest

from tinytracker.cli import main as cli
from tinytracker.cli import progress as cli_progress
from tinytracker.core import progress
from tinytracker.core.errors import ExitCode
from tinytracker.core.lock import lock_path
from tinytracker.tasks import BuildResult


class Recorder:
    """A progress listener that writes down what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, key, description, total, unit):
        self.events.append(("start", description, total))

    def advance(self, key, amount, description):
        self.events.append(("advance", amount, description))

    def finish(self, key):
        self.events.append(("finish",))

    def note(self, text):
        self.events.append(("note", text))

    def dbt_node(self, name, status, index, total):
        self.events.append(("dbt", name, status, index, total))


@pytest.fixture
def listening():
    recorder = Recorder()
    previous = progress.install(recorder)
    yield recorder
    progress.install(previous)


def test_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["build", "--no-such-option"])
    assert exited.value.code == ExitCode.USAGE
    assert cli.main(["build", "--as-of", "2025-02-30", "--warehouse", str(tmp_path / "w")]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_a_failed_check_exits_1(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr("tinytracker.cli.build.build", lambda *a, **k: BuildResult(status=2))
    assert cli.main(["build", "--as-of", "2025-07-18", "--warehouse", str(tmp_path / "w")]) == 1


def test_refusals_by_policy_exit_3(tmp_path: Path, capsys) -> None:
    code = cli.main(["retention", "apply", "--as-of", "2999-01-01", "--warehouse",
                     str(tmp_path / "w.duckdb")])  # fmt: skip
    assert code == ExitCode.REFUSED and "after today" in capsys.readouterr().err


def test_a_busy_warehouse_exits_75_after_counting_down(
    tmp_path: Path, monkeypatch, listening: Recorder
) -> None:
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("TINYTRACKER_LOCK_WAIT_SECONDS", "1.5")
    with open(lock_path(db.resolve()), "w") as held:
        held.write("pid 1: tinytracker build\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        assert cli.main(["hold", "list", "--warehouse", str(db)]) == ExitCode.BUSY
    assert ("start", "waiting for pid 1: tinytracker build", 2) in listening.events
    assert any(
        e[0] == "advance" and "left before giving up" in (e[2] or "") for e in listening.events
    )


def test_ctrl_c_exits_130(monkeypatch, tmp_path: Path) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["hold"]._subparsers._group_actions[0].choices[
        "list"
    ].set_defaults(handler=interrupted)
    assert cli.main(["hold", "list", "--warehouse", str(tmp_path / "w")]) == 130


def test_a_load_reports_each_file_it_reads(tmp_path: Path, monkeypatch, listening) -> None:
    monkeypatch.setenv("TINYTRACKER_DB", str(tmp_path / "w.duckdb"))
    assert cli.main(["generate", "--out", str(tmp_path / "x"), "--organisations", "7",
                     "--pupils", "140", "--years", "1", "--quiet"]) == 0  # fmt: skip
    assert cli.main(["load", str(tmp_path / "x")]) == ExitCode.PARTIAL
    starts = [e for e in listening.events if e[0] == "start"]
    assert ("start", "loading 10 file(s)", 10) in starts
    done = [e[2] for e in listening.events if e[0] == "advance" and e[1] == 1]
    assert len(done) == 10 and any(d.startswith("attendance_sessions.csv: ") for d in done)
    assert any("rows" in d for d in done)


def test_the_terminal_display_draws_steps_and_dbt_nodes() -> None:
    from rich.console import Console

    screen = io.StringIO()
    listener = cli_progress.RichListener(Console(file=screen, force_terminal=True, width=100))
    listener.start(1, "applying 3 step(s)", 3, "steps")
    listener.advance(1, 1, "applying: left_pupils_2_academic_years, anonymise in raw.pupils")
    listener.finish(1)
    listener.dbt_node("stg_pupils", "started", 1, 2)
    listener.dbt_node("stg_pupils", "success", 1, 2)
    listener.dbt_node("stg_employees", "success", 2, 2)
    listener.note("dbt: building for 2025-07-18")
    listener.close()
    assert "dbt: building for 2025-07-18" in screen.getvalue()
    assert not listener.tasks and not listener.live


def test_progress_is_off_off_a_terminal_and_with_quiet_or_json() -> None:
    assert cli_progress.wanted(quiet=False, json_output=False) is False  # pytest's stdout
    assert cli_progress.wanted(quiet=True, json_output=False) is False
