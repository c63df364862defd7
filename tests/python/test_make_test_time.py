"""``make test`` times itself: each check's wall and CPU time, the checks that run side by side,
and the report's verdict on the 6-minute target (bench/make_test_time.py, bench/analysis.py).

Stand-ins for ``make <check>`` take the place of the real checks: a check's name is the last
argument, as make's target is.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

from bench.make_test_report import make_test_files, make_test_row, make_test_steps  # noqa: E402
from bench.make_test_time import main as time_command  # noqa: E402
from bench.make_test_time import pytest_files  # noqa: E402


def test_make_test_records_its_time_and_exit_and_the_report_judges_it(tmp_path: Path) -> None:
    record_path = tmp_path / "make-test.json"
    failing = [sys.executable, "-c", "import time, sys; time.sleep(0.3); sys.exit(2)"]
    assert time_command(["--record", str(record_path), "--", *failing]) == 2  # exit passed on
    record = json.loads(record_path.read_text())
    assert record["returncode"] == 2 and record["wall_seconds"] >= 0.3
    assert record["machine"]["cores"] == os.cpu_count()
    assert record["probe"]["before"] > 0  # how fast the machine was, to compare records by
    assert f"speed probe (bench/calibrate.py) {record['probe']['before']:.3f} s" in (
        make_test_row(record)
    )
    assert "speed probe" not in make_test_row({**record, "probe": None})  # an older record
    assert make_test_row(record).endswith("| **missed** |")  # fast, but it failed
    assert make_test_row({**record, "returncode": 0}).endswith("| **met** |")
    slow = {**record, "returncode": 0, "wall_seconds": 361.0}
    assert "6 min" in make_test_row(slow) and make_test_row(slow).endswith("| **missed** |")
    assert "not recorded" in make_test_row(None)


def test_make_test_times_each_check_with_its_cpu_and_stops_at_the_first_failure(
    tmp_path: Path,
) -> None:
    # a stand-in for `make <check>`: "spin" works 0.4 s of CPU, "wait" sleeps 0.4 s, "fail"
    # exits 3; the check's name is the last argument, as make's target is
    check = (
        "import sys, time\n"
        "name = sys.argv[1]\n"
        "if name == 'spin':\n"
        "    while time.process_time() < 0.4: pass\n"
        "elif name == 'wait':\n"
        "    time.sleep(0.4)\n"
        "sys.exit(3 if name == 'fail' else 0)\n"
    )
    record_path = tmp_path / "make-test.json"
    steps = ["spin", "wait", "fail", "never"]
    command = [sys.executable, "-c", check]
    assert time_command(["--record", str(record_path), "--steps", *steps, "--", *command]) == 3
    record = json.loads(record_path.read_text())
    by_step = {step["step"]: step for step in record["steps"]}
    assert list(by_step) == ["spin", "wait", "fail"]  # stopped at the failure, as make does
    assert record["returncode"] == 3 and by_step["fail"]["returncode"] == 3
    assert by_step["spin"]["cpu_seconds"] >= 0.4  # the child's CPU is counted...
    assert by_step["wait"]["cpu_seconds"] < 0.3 <= by_step["wait"]["wall_seconds"]  # not waits
    assert record["wall_seconds"] == pytest.approx(  # one after another: the sum, rounded
        sum(step["wall_seconds"] for step in record["steps"]), abs=0.2
    )
    table = make_test_steps(record)
    assert "| `fail` (failed) |" in "\n".join(table)
    assert make_test_steps({**record, "steps": []}) == [] and make_test_steps(None) == []


def test_make_test_runs_the_together_checks_side_by_side_each_printed_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # stand-ins for `make <check>`: each prints two lines around its work; "fail" exits 3
    check = (
        "import sys, time\n"
        "name = sys.argv[1]\n"
        "print(name + '-first', flush=True)\n"
        "if name == 'spin':\n"
        "    while time.process_time() < 0.4: pass\n"
        "elif name in ('wait', 'fail'):\n"
        "    time.sleep(0.6)\n"
        "print(name + '-last', flush=True)\n"
        "sys.exit(3 if name == 'fail' else 0)\n"
    )
    command = [sys.executable, "-c", check]
    record_path = tmp_path / "out" / "make-test.json"
    argv = ["--record", str(record_path), "--steps", "alone", "--together", "spin", "wait", "fail"]
    assert time_command([*argv, "--", *command]) == 3  # one failed: the run fails
    record = json.loads(record_path.read_text())
    by_step = {step["step"]: step for step in record["steps"]}
    assert list(by_step) == ["alone", "spin", "wait", "fail"]  # a failure stops no other
    assert not by_step["alone"].get("together")
    assert all(by_step[name]["together"] for name in ("spin", "wait", "fail"))
    assert [by_step[name]["returncode"] for name in ("spin", "wait", "fail")] == [0, 0, 3]
    assert by_step["spin"]["cpu_seconds"] >= 0.4 > by_step["wait"]["cpu_seconds"]
    together = [by_step[name]["wall_seconds"] for name in ("spin", "wait", "fail")]
    assert record["wall_seconds"] < by_step["alone"]["wall_seconds"] + sum(together)  # overlap
    printed = capsys.readouterr().out
    for name in ("spin", "wait", "fail"):  # each check's lines together, under its heading
        assert f"{name}-first\n{name}-last\n" in printed
        assert f"===== make {name} (exit {by_step[name]['returncode']}) =====" in printed
        assert (tmp_path / "out" / "make-test-logs" / f"{name}.log").exists()
    table = "\n".join(make_test_steps(record))
    assert "| `alone` | alone |" in table and "| `fail` (failed) | side by side |" in table
    assert "ran at the same time" in table

    # a step that fails first: the checks meant to run side by side never start
    record_path.unlink()
    argv = ["--record", str(record_path), "--steps", "fail", "--together", "spin"]
    assert time_command([*argv, "--", *command]) == 3
    assert [step["step"] for step in json.loads(record_path.read_text())["steps"]] == ["fail"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.python.test_fast" name="test_a" time="0.5" />
<testcase classname="tests.python.test_slow" name="test_b" time="40.0" />
<testcase classname="tests.python.test_fast" name="test_c" time="1.25" />
<testcase classname="tests.reliability.test_kills.TestKill" name="test_d" time="7.0" />
</testsuite></testsuites>"""


def test_make_test_keeps_pytests_time_per_test_file_and_the_report_shows_the_slowest(
    tmp_path: Path,
) -> None:
    report = tmp_path / "pytest-report.xml"
    # the pytest step writes the report, as make pytest does; the record sums it per file
    step = f"import pathlib; pathlib.Path({str(report)!r}).write_text({JUNIT!r})"
    record_path = tmp_path / "make-test.json"
    argv = ["--record", str(record_path), "--pytest-report", str(report), "--steps", "pytest"]
    assert time_command([*argv, "--", sys.executable, "-c", step]) == 0
    record = json.loads(record_path.read_text())
    assert record["pytest_files"] == [
        {"file": "tests/python/test_slow.py", "tests": 1, "seconds": 40.0},
        {"file": "tests/reliability/test_kills.py", "tests": 1, "seconds": 7.0},
        {"file": "tests/python/test_fast.py", "tests": 2, "seconds": 1.8},
    ]
    table = "\n".join(make_test_files(record, shown=2))
    assert "| `tests/python/test_slow.py` | 1 | 40.0 s | 82% |" in table
    assert "| 1 other files | 2 | 1.8 s | 4% |" in table
    assert "3 files, 4 tests, 48.8 s of test time" in table

    # a report left by an earlier run is not this run's: nothing is kept from it
    assert pytest_files(report, since=report.stat().st_mtime + 60) is None
    assert pytest_files(tmp_path / "none.xml", since=0.0) is None
    report.write_text(JUNIT[: len(JUNIT) // 2])  # cut short: no figures, and no crash
    assert pytest_files(report, since=0.0) is None
    assert make_test_files({**record, "pytest_files": None}) == [] and make_test_files(None) == []


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie left for init to reap is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_make_test_leaves_no_check_running(tmp_path: Path, signum: int) -> None:
    # each stand-in check starts a process of its own, as make starts dbt, and notes both pids
    check = (
        "import pathlib, subprocess, sys, time\n"
        "name = sys.argv[1]\n"
        "grandchild = subprocess.Popen(['sleep', '120'])\n"
        f"pathlib.Path({str(tmp_path)!r}, name).write_text(f'{{grandchild.pid}}')\n"
        "time.sleep(120)\n"
    )
    recorder = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "bench" / "make_test_time.py"),
         "--record", str(tmp_path / "make-test.json"), "--together", "one", "two",
         "--", sys.executable, "-c", check],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    noted = [tmp_path / "one", tmp_path / "two"]
    deadline = time.monotonic() + 60
    while not all(path.exists() and path.read_text() for path in noted):
        assert time.monotonic() < deadline and recorder.poll() is None, recorder.stdout
        time.sleep(0.1)
    recorder.send_signal(signum)  # to the recorder alone: the checks are its to stop
    output, _ = recorder.communicate(timeout=60)
    assert recorder.returncode == (130 if signum == signal.SIGINT else 128 + signum), output
    for path in noted:  # the checks' own processes are gone, not orphaned
        grandchild = int(path.read_text())
        deadline = time.monotonic() + 10
        while running(grandchild) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(grandchild), f"{path.name}'s process still runs"
    assert not (tmp_path / "make-test.json").exists()  # an interrupted run records nothing


def sleeping(seconds: str) -> list[int]:
    """Live processes running ``sleep SECONDS`` (a duration no other test uses)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if stat.read_bytes().split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                pids.append(int(stat.parent.name))
    return [pid for pid in pids if running(pid)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal")
@pytest.mark.parametrize("how", [["--steps", "one"], ["--together", "one", "two"]])
def test_a_killed_make_test_leaves_no_check_running(tmp_path: Path, how: list[str]) -> None:
    # SIGKILL (a CI timeout, the OOM killer) gives the recorder no chance to stop anything: the
    # kernel tells each check's make, which stops what its recipe runs, as for the real checks
    seconds = f"{117 + os.getpid() % 1000}.5"
    (tmp_path / "Makefile").write_text(f"one two:\n\tsleep {seconds}\n")
    recorder = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "bench" / "make_test_time.py"),
         "--record", str(tmp_path / "make-test.json"), *how,
         "--", "make", "--no-print-directory", "-C", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(sleeping(seconds)) < len(how) - 1:
        assert time.monotonic() < deadline and recorder.poll() is None
        time.sleep(0.1)
    recorder.kill()
    recorder.wait()
    deadline = time.monotonic() + 15
    while sleeping(seconds) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sleeping(seconds)
    for pid in left:  # do not leave them to the rest of the run
        os.kill(pid, signal.SIGKILL)
    assert not left, "the checks went on running after make test was killed"
