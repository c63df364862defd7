"""Run one benchmark stage as a subprocess and measure it: wall time and peak tree RSS.

Every stage (ours, the floor, the per-subject eraser) goes through :func:`run_stage`, so the
three are measured the same way: the wall clock from spawn to exit, and the largest sum of
resident set sizes over the process *and all its descendants* (dbt runs in a child of the
CLI; a sum over the tree is what the machine must actually hold). The tree is polled every
``poll_seconds`` (50 ms): a spike shorter than that can be missed, so the figure is a lower
bound on the true peak, accurate to within one poll.

The machine may be shared, so each stage also records its own CPU seconds (the tree's, from
the kernel's accounting of reaped children) and the share of the machine's CPU that *other*
processes used while it ran: a wall time measured beside a busy neighbour says so.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.05
MB = 1024 * 1024


@dataclass(frozen=True)
class StageResult:
    """What one stage cost. ``returncode`` is the process's; the caller decides what is OK."""

    name: str
    wall_seconds: float
    peak_rss_mb: float
    returncode: int
    log: str | None = None
    cpu_seconds: float = 0.0
    others_cpu_share: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and every descendant alive right now (0 once it exits)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # exited between listing and reading: it holds nothing now
            continue
    return total


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(
        getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")
    )


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_stage(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    ok_returncodes: Sequence[int] = (0,),
    poll_seconds: float = POLL_SECONDS,
) -> StageResult:
    """Run ``command`` to completion, polling its process tree; raise if it fails.

    stdout and stderr go to ``log`` (appended) so a long dbt run does not flood the
    terminal but stays inspectable. A return code outside ``ok_returncodes`` raises
    :class:`StageFailed` naming the log.
    """
    handle = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        if log:
            handle.write(f"\n$ {' '.join(command)}\n".encode())
            handle.flush()
        busy_before = _machine_busy_seconds()
        cpu_before = _children_cpu_seconds()
        started = time.perf_counter()
        child = subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            peak = max(peak, tree_rss(watched))
            time.sleep(poll_seconds)
        wall = time.perf_counter() - started
        cpu = _children_cpu_seconds() - cpu_before
        others = max(0.0, _machine_busy_seconds() - busy_before - cpu)
    finally:
        if log:
            handle.close()
    capacity = wall * (os.cpu_count() or 1)
    result = StageResult(
        name,
        round(wall, 3),
        round(peak / MB, 1),
        child.returncode,
        str(log) if log else None,
        round(cpu, 2),
        round(min(1.0, others / capacity), 3) if capacity else 0.0,
    )
    if child.returncode not in ok_returncodes:
        raise StageFailed(result)
    return result


class StageFailed(RuntimeError):
    """A stage exited with an unexpected status; the message names its log."""

    def __init__(self, result: StageResult) -> None:
        super().__init__(
            f"stage {result.name} exited {result.returncode} after {result.wall_seconds:.1f}s"
            + (f"; see {result.log}" if result.log else "")
        )
        self.result = result


def machine() -> dict[str, object]:
    """The machine the figures come from, for the report."""
    import platform
    import sys

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "dagster"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        **versions,
    }
