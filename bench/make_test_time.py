"""Time ``make test``'s checks, one by one, and record the figures for docs/benchmarks.md.

    .venv/bin/python bench/make_test_time.py --record bench/out/make-test.json \\
        --steps pytest dbt-test lint validate bench-smoke -- make --no-print-directory

Issue 16 holds ``make test`` to 6 minutes on an idle 2-core machine. The time is measured by
the run itself, not guessed: ``make test`` runs its checks under this wrapper, which writes the
wall time, the machine, and the load average when it started (a figure taken beside a busy
neighbour says so) to ``bench/out/make-test.json``. ``make bench`` reads the newest record
into its targets table. Installing (``uv sync``) is not included: on a fresh clone it is a
cache copy, and it is the same for every command.

Each step (a make target) is timed on its own, with the CPU time its processes used: a step
whose CPU time is well under its wall time times the cores is waiting (on a lock, a disk, one
busy thread), and more workers would help it; one near that bound is work, and only less work
would. The steps stop at the first that fails, as make does.

``--together`` names checks that run side by side once the steps have passed. pytest keeps
every core busy by itself (96%), but the other checks wait on one dbt thread, one sqlfluff
file or one Dagster import for a third of their time (busy 50-84%, docs/benchmarks.md): one
after another they took 302 s of the 1,026 s. Side by side each writes its output to
``<record folder>/make-test-logs/<check>.log`` and it is printed whole when the check ends, so
no two checks' lines interleave; a failing check does not stop the others (each says what it
found), and the run fails if any did. Each check's CPU time is its own process tree's, from the
kernel's accounting of that child (``os.wait4``). Interrupted (Ctrl-C, SIGTERM), it stops every
check before it exits; killed outright, the kernel tells each check's make to stop.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench.calibrate import probe_seconds  # noqa: E402
from bench.measure import machine  # noqa: E402

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def ended_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send the check SIGTERM when this process dies.

    Ctrl-C and SIGTERM reach :func:`stop`, but SIGKILL (a CI runner's timeout, the OOM killer)
    ends this process with no chance to stop anything, and the checks would run on unseen. make
    passes a SIGTERM on to the commands it runs (pytest, dbt, sqlfluff), so the check's make is
    the one to tell. Linux only; elsewhere None (no such signal)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not between fork and exec
    parent = os.getpid()

    def set_up() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # this process died before the line above took effect
            os._exit(128 + signal.SIGTERM)

    return set_up


def timed(command: list[str]) -> dict:
    """Run ``command`` to its end: wall time, the CPU time of its whole process tree (the
    kernel's accounting of that child, ``os.wait4``) and its exit code."""
    started = time.monotonic()
    child = subprocess.Popen(command, preexec_fn=ended_with_this_process())
    try:
        _, status, usage = os.wait4(child.pid, 0)
    except BaseException:  # Ctrl-C reaches the child too: let it finish, then stop
        child.wait()
        raise
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return {
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "returncode": child.returncode,
    }


def together(command: list[str], checks: list[str], logs: Path) -> list[dict]:
    """Run ``command CHECK`` for every check at once; each one's figures, in the given order."""
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    running: dict[int, tuple[str, Path]] = {}
    finished: dict[str, dict] = {}
    try:
        for check in checks:
            log = logs / f"{check}.log"
            with open(log, "wb") as output:
                # a process group of its own, so an interrupted run can stop all of it
                child = subprocess.Popen(
                    command + [check],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    preexec_fn=ended_with_this_process(),
                )
            running[child.pid] = (check, log)
        print(f"make test: {', '.join(checks)} running side by side (output in {logs}/)")
        sys.stdout.flush()
        while running:
            pid, status, usage = os.wait4(-1, 0)
            if pid not in running:  # pragma: no cover - no other child of this process exists
                continue
            check, log = running.pop(pid)
            returncode = os.waitstatus_to_exitcode(status)
            finished[check] = {
                "step": check,
                "wall_seconds": round(time.monotonic() - started, 1),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
                "returncode": returncode,
                "together": True,
            }
            sys.stdout.write(f"\n===== make {check} (exit {returncode}) =====\n")
            sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
            sys.stdout.flush()
    except BaseException:  # Ctrl-C or SIGTERM: no check goes on running without us
        stop(list(running))
        raise
    return [finished[check] for check in checks]


def stop(groups: list[int], grace_seconds: float = 10.0) -> None:
    """Terminate each process group (a check and everything it started), killing what is
    still there after the grace, and reap the checks."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    waiting = set(groups)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            if os.waitpid(pid, os.WNOHANG)[0]:
                waiting.discard(pid)
        time.sleep(0.05)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    for pid in waiting:
        os.waitpid(pid, 0)


def pytest_files(report: Path, since: float) -> list[dict] | None:
    """Each test file's time in pytest's JUnit report (setup, call and teardown of its tests,
    summed), slowest first; None when this run wrote no whole report (pytest did not run, or
    stopped while writing it). Which files hold the time is what a choice of fewer end-to-end
    tests per run would be made from; the check totals alone cannot say."""
    if not report.exists() or report.stat().st_mtime < since:
        return None
    seconds: dict[str, float] = defaultdict(float)
    tests: dict[str, int] = defaultdict(int)
    try:
        cases = list(ET.parse(report).iter("testcase"))
    except ET.ParseError:  # cut short (pytest killed while writing it): the record goes on
        return None
    for case in cases:
        # "tests.python.test_x", or "tests.python.test_x.TestY" for a test in a class
        parts = [part for part in case.get("classname", "").split(".") if part]
        module = list(itertools.takewhile(lambda part: not part[0].isupper(), parts))
        name = "/".join(module) + ".py" if module else "(collection)"
        seconds[name] += float(case.get("time") or 0.0)
        tests[name] += 1
    return [
        {"file": name, "tests": tests[name], "seconds": round(seconds[name], 1)}
        for name in sorted(seconds, key=lambda name: (-seconds[name], name))
    ]


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--steps",
        nargs="+",
        default=[],
        help="run the command once per step, with the step as its last argument, each timed",
    )
    parser.add_argument(
        "--together",
        nargs="+",
        default=[],
        help="after the steps pass, run the command once per check here, all at once",
    )
    parser.add_argument(
        "--pytest-report",
        type=Path,
        help="pytest's JUnit report that the pytest step writes: its time per test file is kept",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to time after --")
    load_before = os.getloadavg()[0]
    probe = probe_seconds()  # before the clock starts: the record's times are the checks'
    started_at = dt.datetime.now().isoformat(timespec="seconds")
    started_epoch = time.time()
    runs = []
    clock = time.monotonic()
    for step in args.steps or ([] if args.together else [None]):
        runs.append({"step": step, **timed(command + ([step] if step else []))})
        if runs[-1]["returncode"] != 0:
            break
    if args.together and all(run["returncode"] == 0 for run in runs):
        try:
            runs += together(command, args.together, args.record.parent / "make-test-logs")
        except KeyboardInterrupt:
            print("make test: interrupted; the checks running side by side were stopped")
            return 130
    steps = [run for run in runs if run["step"]]
    returncode = next((run["returncode"] for run in runs if run["returncode"] != 0), 0)
    checks = args.steps + args.together
    record = {
        "command": " ".join(command + ["{" + ",".join(checks) + "}"] * bool(checks)),
        "started_at": started_at,
        "wall_seconds": round(time.monotonic() - clock, 1),
        "cpu_seconds": round(sum(run["cpu_seconds"] for run in runs), 1),
        "returncode": returncode,
        "steps": steps,
        "load_average_before": round(load_before, 2),
        "probe": {"before": probe},
        "cwd": str(Path.cwd()),
        "machine": machine(),
    }
    if args.pytest_report:
        record["pytest_files"] = pytest_files(args.pytest_report, started_epoch)
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2))
    print()
    for step in steps:
        print(
            f"make test: {step['step']:<12} {step['wall_seconds']:>7,.0f} s wall "
            f"{step['cpu_seconds']:>7,.0f} s CPU"
            + (" (side by side)" if step.get("together") else "")
            + ("" if step["returncode"] == 0 else f"  FAILED (exit {step['returncode']})")
        )
    verdict = "all checks passed" if returncode == 0 else "FAILED"
    print(f"make test: {verdict}, {record['wall_seconds']:,.0f} s (recorded in {args.record})")
    return returncode


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)  # stopped from outside: stop the checks too
    sys.exit(main())
