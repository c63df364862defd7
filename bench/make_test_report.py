"""The ``make test`` part of docs/benchmarks.md, from the record make test writes
(bench/make_test_time.py): its target, each check's time, and pytest's time per test file."""

from __future__ import annotations

from bench.calibrate import probe_text
from bench.figures import TARGET_MAKE_TEST_SECONDS, fmt_seconds, met

SLOWEST_FILES_SHOWN = 15


def make_test_row(record: dict | None) -> str:
    """The ``make test`` target, from the record its last run wrote (bench/make_test_time.py)."""
    limit = f"| `make test` within {TARGET_MAKE_TEST_SECONDS / 60:.0f} minutes, idle 2 cores | "
    if not record:
        return limit + "not recorded (run `make test`, then `make bench`) | **missed** |"
    cores = record["machine"].get("cores")
    ok = record["returncode"] == 0 and record["wall_seconds"] <= TARGET_MAKE_TEST_SECONDS
    probe = probe_text(record.get("probe"))
    return (
        limit + f"{fmt_seconds(record['wall_seconds'])} on {record['started_at'][:10]} "
        f"({cores} cores, load average {record['load_average_before']} when it started"
        + (f", {probe}" if probe else "")
        + f", {'passed' if record['returncode'] == 0 else 'failed'}; install not included) | "
        f"{met(ok)} |"
    )


def make_test_steps(record: dict | None) -> list[str]:
    """Where ``make test``'s time goes: each check's wall and CPU time, from the same record.

    CPU over wall times cores says whether a check waits (more workers would help it) or
    works (only less work would)."""
    if not record or not record.get("steps"):
        return []
    cores = record["machine"].get("cores") or 1
    side_by_side = [step for step in record["steps"] if step.get("together")]
    lines = ["## Where `make test`'s time goes", ""]
    lines.append(
        f"The record of {record['started_at'][:10]} (`bench/out/make-test.json`), each check "
        f"timed on its own. Busy = CPU time / (wall time x {cores} cores): near 100% the check "
        "is work and only less work makes it faster; well under, it waits (a lock, a disk, one "
        "busy thread) and more workers could overlap it."
    )
    if side_by_side:
        lines.append("")
        lines.append(
            f"The checks marked side by side ran at the same time, after the others: together "
            f"{fmt_seconds(max(step['wall_seconds'] for step in side_by_side))} of wall time for "
            f"{fmt_seconds(sum(step['cpu_seconds'] for step in side_by_side))} of CPU. Their wall "
            "times run from the common start to each one's end, so their shares overlap, and "
            "each one's busy figure is its own CPU over cores it shared with the others: low "
            "there says the cores were shared, not that the check waited."
        )
    lines.append("")
    lines.append("| check | ran | wall | share | CPU | busy |")
    lines.append("|---|---|---:|---:|---:|---:|")
    total = record["wall_seconds"] or 1.0
    for step in record["steps"]:
        wall_s, cpu_s = step["wall_seconds"], step["cpu_seconds"]
        busy = cpu_s / (wall_s * cores) if wall_s else 0.0
        failed = "" if step["returncode"] == 0 else " (failed)"
        ran = "side by side" if step.get("together") else "alone"
        lines.append(
            f"| `{step['step']}`{failed} | {ran} | {fmt_seconds(wall_s)} | {wall_s / total:.0%} "
            f"| {fmt_seconds(cpu_s)} | {busy:.0%} |"
        )
    lines.append("")
    return lines


def make_test_files(record: dict | None, shown: int = SLOWEST_FILES_SHOWN) -> list[str]:
    """pytest's slowest test files, from the same record: where a choice of fewer end-to-end
    tests per run (the 6-minute target) would have to be made."""
    files = (record or {}).get("pytest_files")
    if not files:
        return []
    total = sum(entry["seconds"] for entry in files) or 1.0
    pytest_step = next((step for step in record["steps"] if step["step"] == "pytest"), None)
    lines = ["### pytest's slowest test files", ""]
    lines.append(
        f"Time per test file: its tests' setup, call and teardown, summed (JUnit report, "
        f"`make pytest`). {len(files)} files, {sum(entry['tests'] for entry in files):,} tests, "
        f"{fmt_seconds(total)} of test time"
        + (
            f" in {fmt_seconds(pytest_step['wall_seconds'])} of wall time on "
            f"{record['machine'].get('cores') or 1} workers"
            if pytest_step
            else ""
        )
        + ". A file runs on one worker. A fixture built once for many tests (a build, an apply) "
        "is charged to the test that first asked for it on its worker, with any wait for "
        "another worker building it."
    )
    lines.append("")
    lines.append("| test file | tests | time | share |")
    lines.append("|---|---:|---:|---:|")
    for entry in files[:shown]:
        lines.append(
            f"| `{entry['file']}` | {entry['tests']} | {fmt_seconds(entry['seconds'])} "
            f"| {entry['seconds'] / total:.0%} |"
        )
    rest = files[shown:]
    if rest:
        seconds = sum(entry["seconds"] for entry in rest)
        lines.append(
            f"| {len(rest)} other files | {sum(entry['tests'] for entry in rest)} "
            f"| {fmt_seconds(seconds)} | {seconds / total:.0%} |"
        )
    lines.append("")
    return lines
