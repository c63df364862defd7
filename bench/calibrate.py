"""How fast this machine runs one fixed piece of work right now, recorded beside a run's figures.

This machine (virtual, 2 cores, its neighbours invisible to the load average) runs the same code
at different speeds at different hours. On 2026-12-07 `make bench` timed the SQL floor, code
unchanged, at 12.2 s for 100k pupils where the evening before took 16.0 s, and a one-model
build reached dbt's first node in 1.8-1.9 s in one hour and 2.0-2.2 s in the next. A target
in seconds (a 2 s start, a 6-minute `make test`) read from one run says as much about the hour
as about the code. The probe is a fixed pure-Python workload, timed in fresh interpreters as
every command a run times starts one, before and after the run: a run whose probe took longer
met a slower machine, by about that factor, and two runs compare through it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

# Integer arithmetic, string building and a sort: the interpreter's own work, as importing dbt
# and walking its manifest are; no I/O, no library, so nothing but the CPU's speed moves it.
WORKLOAD = """\
import time
started = time.perf_counter()
total = 0
for number in range(1_000_000):
    total += number * number % 7
words = sorted(str(number)[::-1] for number in range(200_000))
print(time.perf_counter() - started, total, len(words))
"""
EXPECTED = "1999998 200000"  # what the workload computes: a probe that did other work fails
REPEATS = 3  # fresh interpreters per probe, their median kept


def probe_seconds(repeats: int = REPEATS) -> float:
    """Median wall seconds of the workload over ``repeats`` fresh interpreters (start-up not
    counted: a slow disk or a cold cache would otherwise read as a slow CPU)."""
    timings = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", WORKLOAD], capture_output=True, text=True, check=True
        )
        seconds, _, result = done.stdout.strip().partition(" ")
        if result != EXPECTED:
            raise RuntimeError(f"bench: the speed probe computed {result!r}, not {EXPECTED!r}")
        timings.append(float(seconds))
    return round(statistics.median(timings), 3)


def probe_text(probe: dict[str, float] | None) -> str:
    """The probe's figures as the reports print them, or "" for a record made without one."""
    if not probe:
        return ""
    moments = [
        f"{probe[key]:.3f} s {label}"
        for key, label in (("before", "before the run"), ("after", "after it"))
        if key in probe
    ]
    return "speed probe (bench/calibrate.py) " + ", ".join(moments)
