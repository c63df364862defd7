"""docs/scaling.md: where one machine ends, from one `make bench-large` run (bench/run.py --large).

Every figure is computed from the results JSON of that run (300k and 1M pupils by default);
the largest size of the last `make bench` run (bench/out/results.json), when there is one, is
shown beside it as a third point of the curve and labelled as another run. The lists of what
is DuckDB-only are read from the code (macros named ``duckdb__*``, Python modules importing
duckdb), so they stay true when the code changes.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from bench.figures import fmt_seconds, peak, wall
from tinytracker.core.warehouse import DEFAULT_MEMORY_LIMIT

PROJECT_DIR = Path(__file__).resolve().parent.parent
NIGHTLY = ("daily_load", "daily_build", "erase_finish")
"""A night's work: load the day's extract, build, and the scheduled apply (which also finishes
the day's queued erasure requests: dbt run, publish, file rewrite)."""
WINDOW_SECONDS = 3600.0
EXTRAPOLATION_LIMIT = 10
"""How far past the largest measured size the window is extrapolated (in rows), at most."""
STAGES = (
    "generate",
    "load",
    "build",
    "plan",
    "apply",
    "publish",
    "floor",
    "daily_load",
    "daily_build",
    "dbt_start_2",
    "erase_request_1",
    "erase_finish",
)
GB = 1024**3


def _points(results: dict, extra: dict | None) -> list[tuple[dict, str]]:
    points = [(size, "bench-large") for size in results["sizes"]]
    if extra and extra.get("sizes"):
        largest = extra["sizes"][-1]
        if all(largest["pupils"] != size["pupils"] for size, _ in points):
            points.insert(0, (largest, "make bench"))
    return sorted(points, key=lambda item: item[0]["session_rows"])


def _has(size: dict, stage: str) -> bool:
    return stage in size.get("stages", {})


def fit(
    points: list[dict], stage: str, at_least_linear: bool = False
) -> tuple[float, float] | None:
    """(a, b) of seconds = a * rows^b through the two largest sizes that measured ``stage``.

    ``at_least_linear`` is for extrapolating past the largest size: b is raised to 1 (the
    curve still through the largest size). A b under 1 says fixed costs are still being
    amortised; they run out, and every row is still read, so beyond what was measured no stage
    is assumed to grow slower than the rows."""
    measured = [p for p in points if _has(p, stage)]
    if len(measured) < 2:
        return None
    low, high = measured[-2], measured[-1]
    if high["session_rows"] <= low["session_rows"] or wall(low, stage) <= 0:
        return None
    b = math.log(wall(high, stage) / wall(low, stage)) / math.log(
        high["session_rows"] / low["session_rows"]
    )
    if at_least_linear:
        b = max(b, 1.0)
    a = wall(high, stage) / high["session_rows"] ** b
    return a, b


def nightly_seconds(size: dict) -> float:
    return sum(wall(size, stage) for stage in NIGHTLY if _has(size, stage))


def rows_in_window(fits: list[tuple[float, float]], speedup: float, ceiling: float) -> float:
    """Session rows whose nightly work (sum of the fitted stages / speedup) fills the window,
    or ``ceiling`` when even that many fit (the caller says "more than")."""
    low, high = 1.0, ceiling
    if sum(a * high**b for a, b in fits) / speedup <= WINDOW_SECONDS:
        return ceiling
    for _ in range(100):
        mid = math.sqrt(low * high)
        total = sum(a * mid**b for a, b in fits) / speedup
        low, high = (mid, high) if total <= WINDOW_SECONDS else (low, mid)
    return low


def duckdb_only() -> tuple[list[str], list[str]]:
    """Macros with a DuckDB implementation, and Python modules that import duckdb."""
    macros = sorted(
        f"`{name}` ({path.relative_to(PROJECT_DIR)})"
        for path in (PROJECT_DIR / "macros").rglob("*.sql")
        for name in re.findall(r"macro\s+(duckdb__\w+)", path.read_text())
    )
    modules = sorted(
        f"`{path.relative_to(PROJECT_DIR)}`"
        for folder in ("tinytracker", "orchestration", "models")
        for path in (PROJECT_DIR / folder).rglob("*.py")
        if re.search(
            r"^\s*(import duckdb|from duckdb|from tinytracker\.core\.warehouse import"
            r"|from tinytracker\.core import .*\bwarehouse\b)",
            path.read_text(),
            re.M,
        )
    )
    return macros, modules


def markdown(results: dict, extra: dict | None, plot_name: str) -> str:
    points = _points(results, extra)
    sizes = [p for p, _ in points]
    lines: list[str] = []
    add = lines.append
    machine = results["machine"]
    add("# Scaling: where one machine ends")
    add("")
    add(
        "<!-- Written by bench/run.py --large --doc (bench/scaling.py) from "
        "bench/out/large/results.json; do not edit by hand: rerun `make bench-large`. -->"
    )
    add("")
    limit = machine.get("memory_limit", f"TINYTRACKER_MEMORY_LIMIT, default {DEFAULT_MEMORY_LIMIT}")
    add(
        f"Measured {results['started_at']} with `{results['command']}`, retention as_of "
        f"{results['as_of']}, on {machine.get('cpu', '?')} with {machine.get('cores', '?')} "
        f"cores and {machine.get('ram_gb', '?')} GB RAM (DuckDB memory limit {limit})."
    )
    for resume in results.get("resumed", []):
        failure = resume.get("after_failure")
        why = (
            f" after the {failure['pupils']:,}-pupil stage `{failure['name']}` failed (exit "
            f"{failure['returncode']}"
            + "".join(f"; {error}" for error in failure.get("errors", []))
            + ")"
            if failure
            else ""
        )
        add(
            f"Resumed {resume['started_at']}{why}, with `{resume['command']}` and DuckDB "
            f"memory limit {resume.get('memory_limit', DEFAULT_MEMORY_LIMIT)}: the sizes "
            "finished before were kept, the others measured again."
        )
    if len(points) > len(results["sizes"]):
        add(
            f"The {points[0][0]['pupils']:,}-pupil column is the largest size of the last "
            "`make bench` run (docs/benchmarks.md), another run on the same machine."
        )
    add("")
    failed = results.get("failed")
    if failed:
        add(
            f"**The {failed['pupils']:,}-pupil run stopped at stage `{failed['name']}`**: exit "
            f"{failed['returncode']} after {fmt_seconds(failed['wall_seconds'])}, peak "
            f"{failed['peak_rss_mb']:,.0f} MB (log: `{failed.get('log')}`). The sizes below "
            "are the ones that finished."
            + (
                " Stages it measured before: "
                + ", ".join(
                    f"{name} {fmt_seconds(stage['wall_seconds'])} / {stage['peak_rss_mb']:,.0f} MB"
                    for name, stage in failed["stages"].items()
                )
                + "."
                if failed.get("stages")
                else ""
            )
        )
        add("")
    for size in results.get("unfinished", []):
        stages = ", ".join(
            f"{name} {fmt_seconds(stage['wall_seconds'])} / {stage['peak_rss_mb']:,.0f} MB"
            for name, stage in size["stages"].items()
        )
        add(
            f"**The {size['pupils']:,}-pupil run was stopped before it finished** (not a "
            f"failure: the session measuring it ended). Stages it measured: {stages}."
        )
        add("")
    add("## Sizes, disk and file")
    add("")
    add(
        "| pupils | session rows | all raw rows | extract (CSV) | warehouse file "
        "| disk used by the run at most | DuckDB memory limit |"
    )
    add("|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        files = size.get("file_bytes", {})
        add(
            f"| {size['pupils']:,} | {size['session_rows']:,} | {size['total_rows']:,} | "
            f"{files.get('extract', 0) / GB:.1f} GB | {files.get('warehouse', 0) / GB:.2f} GB | "
            f"{files.get('folder_peak', 0) / GB:.1f} GB | "
            f"{size.get('memory_limit', DEFAULT_MEMORY_LIMIT)} |"
        )
    add("")
    for size in sizes:
        if size.get("reused_loaded"):
            add(
                f"The {size['pupils']:,}-pupil `generate` and `load` figures are the earlier "
                "attempt's at this size (`--resume` starts from its extract and loaded copy)."
            )
            add("")
    add("## Time and peak memory per stage")
    add("")
    add(
        "Wall time / peak resident memory of the stage's whole process tree (bench/measure.py); "
        "CPU seconds in the second table, with the share of the machine other processes used."
    )
    add("")
    header = "| stage | " + " | ".join(f"{s['pupils']:,}" for s in sizes) + " | b |"
    add(header)
    add("|---|" + "---:|" * (len(sizes) + 1))
    for stage in STAGES:
        cells = [
            f"{fmt_seconds(wall(s, stage))} / {peak(s, stage):,.0f} MB" if _has(s, stage) else "-"
            for s in sizes
        ]
        fitted = fit(sizes, stage)
        exponent = f"{fitted[1]:.2f}" if fitted else "-"
        add(f"| {stage} | " + " | ".join(cells) + f" | {exponent} |")
    add("")
    add(
        "b: the exponent of time ~ rows^b between the two largest sizes (1 = linear; below 1, "
        "fixed costs still being amortised; above 1.1, worse than linear)."
    )
    add("")
    add("| stage (CPU) | " + " | ".join(f"{s['pupils']:,}" for s in sizes) + " |")
    add("|---|" + "---:|" * len(sizes))
    for stage in STAGES:
        cells = [
            f"{s['stages'][stage].get('cpu_seconds', 0):.0f} s "
            f"({s['stages'][stage].get('others_cpu_share', 0):.0%})"
            if _has(s, stage)
            else "-"
            for s in sizes
        ]
        add(f"| {stage} | " + " | ".join(cells) + " |")
    add("")
    add(f"![Time per stage and peak memory against session rows]({plot_name})")
    add("")
    lines += _window(sizes)
    lines += _worse_than_linear(sizes)
    lines += _past_one_machine()
    return "\n".join(lines) + "\n"


def _window(sizes: list[dict]) -> list[str]:
    lines: list[str] = []
    add = lines.append
    add("## What a one-hour nightly window holds")
    add("")
    add(
        "A night's work is " + " + ".join(f"`{s}`" for s in NIGHTLY) + ": the day's extract "
        "loaded, the incremental build, and the scheduled retention apply, which also finishes "
        "the day's queued erasure requests (dbt run, publish, file rewrite)."
    )
    add("")
    for size in sizes:
        if all(_has(size, s) for s in NIGHTLY):
            add(f"- {size['pupils']:,} pupils: {fmt_seconds(nightly_seconds(size))} on 2 cores.")
    fits = [fit(sizes, stage, at_least_linear=True) for stage in NIGHTLY]
    if not all(fits):
        add("")
        add("Too few sizes measured every nightly stage to fit a curve.")
        add("")
        return lines
    usable = [f for f in fits if f is not None]
    largest = sizes[-1]
    rows_per_pupil = largest["session_rows"] / largest["pupils"]
    ceiling = largest["session_rows"] * EXTRAPOLATION_LIMIT

    def held(rows: float) -> str:
        more = "more than " if rows >= ceiling else ""
        return f"{more}{rows / 1e6:,.0f} million session rows, {rows / rows_per_pupil:,.0f} pupils"

    # the one-thread build of the largest size that measured it (a long run may leave it out)
    paired = [s for s in sizes if (s.get("threads") or {}).get("build_one_thread")] or [largest]
    grounded = paired[-1]
    one = (grounded.get("threads") or {}).get("build_one_thread", {}).get("wall_seconds")
    two = wall(grounded, "build") if _has(grounded, "build") else None
    add("")
    add(
        "Each nightly stage is fitted as time ~ a·rows^b through the two largest sizes, with b "
        "raised to 1 where it came out lower (below 1 means fixed costs still being amortised; "
        "past the sizes measured, no stage is assumed to grow slower than its rows). On 2 cores "
        f"one hour holds about **{held(rows_in_window(usable, 1.0, ceiling))}** "
        f"({rows_per_pupil:.0f} session rows per pupil-year). Nothing is extrapolated past "
        f"{EXTRAPOLATION_LIMIT}x the largest size measured ({largest['pupils']:,} pupils)."
    )
    if one and two:
        ratio = two / one
        parallel = min(max(2 * (1 - ratio), 0.0), 1.0)
        add("")
        add(
            f"One thread against two (the first full build of {grounded['pupils']:,} pupils "
            f"again, TINYTRACKER_THREADS=1): {fmt_seconds(one)} against {fmt_seconds(two)}, "
            f"so a second core made it {one / two:.2f}x faster. Read with Amdahl's law "
            f"(time = serial + parallel / cores), {parallel:.0%} of the work ran in parallel."
        )
        add("")
        add("| cores | speed-up over 1 core (Amdahl) | one hour holds |")
        add("|---:|---:|---:|")
        for cores in (2, 16, 64):
            speed = 1 / ((1 - parallel) + parallel / cores)
            base = 1 / ((1 - parallel) + parallel / 2)
            rows = rows_in_window(usable, speed / base, ceiling)
            add(f"| {cores} | {speed:.1f}x | {held(rows)} |")
        add("")
        add(
            "An extrapolation, not a measurement, and an optimistic one: one pair of builds "
            "sets the parallel share for every stage, and it assumes the serial share stays "
            "what it is on 2 cores and that memory (DuckDB's limit), disk bandwidth and the "
            "single-writer file keep up. The apply's file rewrite and the loader's validation "
            "are the stages most likely to stop scaling with cores. England has about 9 "
            "million pupils; the figures say what share of them one machine of each size "
            "could serve in a nightly hour."
        )
    add("")
    return lines


def _worse_than_linear(sizes: list[dict]) -> list[str]:
    lines = ["## What grows worse than linearly", ""]
    worse = []
    for stage in STAGES:
        fitted = fit(sizes, stage)
        if fitted and fitted[1] > 1.1:
            worse.append(f"- `{stage}`: time ~ rows^{fitted[1]:.2f}")
    peaks = [(s["pupils"], max(peak(s, st) for st in STAGES if _has(s, st))) for s in sizes]
    lines += worse or ["- No stage grew faster than rows^1.1 between the two largest sizes."]
    lines.append(
        "- Peak memory per size (any stage): "
        + ", ".join(f"{p:,} pupils {mb:,.0f} MB" for p, mb in peaks)
        + ". DuckDB's memory limit holds it flat: past the limit the hash aggregates and "
        "sorts spill to disk, which shows as time, not memory."
    )
    lines.append(
        "- The file rewrite that makes an erasure physical (`COPY FROM DATABASE`, in `apply` "
        "and `erase_finish`) copies the whole warehouse: its cost grows with the file, not "
        "with what was erased."
    )
    lines.append("")
    return lines


def _past_one_machine() -> list[str]:
    macros, modules = duckdb_only()
    lines = ["## The path past one machine", ""]
    lines.append(
        "The models are dbt SQL and every DuckDB-specific construct in them sits behind "
        "`adapter.dispatch` with a `default__` implementation, so the same models can run on a "
        "distributed engine through its dbt adapter (Spark, Trino, BigQuery, Snowflake, "
        "Databricks): add that adapter's target to profiles.yml and a `<adapter>__` "
        "implementation beside each `duckdb__` macro below. What is DuckDB-only today:"
    )
    lines.append("")
    lines.append(f"Macros with a DuckDB implementation ({len(macros)}):")
    lines.append("")
    lines += [f"- {m}" for m in macros]
    lines.append("")
    lines.append(
        "Beside them: the dbt profile (`type: duckdb`, a file path, DuckDB settings), the "
        "dbt Python model `retention_plan` (DuckDB's relation API through "
        "`tinytracker/erasure/plan.py`; Spark, Snowflake and BigQuery run Python models "
        "with their own DataFrame APIs), and the DuckDB SQL the Python modules below send."
    )
    lines.append("")
    lines.append(
        f"Python modules that talk to DuckDB ({len(modules)}: they import duckdb or open the "
        "warehouse through `tinytracker.core.warehouse`): the loader, the erasure "
        "engine, the file rewrite, backups, publishing, reporting and the dbt Python model. "
        "On a distributed engine each needs its engine's client (or to become dbt models): "
        "the erasure engine's set-based statements port; the physical rewrite of one file "
        "does not (a table format's own compaction and snapshot expiry replace it, e.g. "
        "Delta/Iceberg `VACUUM`/`expire_snapshots`)."
    )
    lines.append("")
    lines += [f"- {m}" for m in modules]
    lines.append("")
    return lines


def plot(sizes: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = [s["session_rows"] / 1e6 for s in sizes]
    for stage in ("load", "build", "apply", "daily_build", "erase_finish", "floor"):
        xs = [r for r, s in zip(rows, sizes) if _has(s, stage)]
        ys = [wall(s, stage) for s in sizes if _has(s, stage)]
        if xs:
            left.plot(xs, ys, marker="o", label=stage)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("session rows (millions)")
    left.set_ylabel("wall seconds")
    left.set_title("Time per stage")
    left.legend(fontsize=8)
    peaks = [max(peak(s, st) for st in STAGES if _has(s, st)) for s in sizes]
    disk = [s.get("file_bytes", {}).get("warehouse", 0) / GB for s in sizes]
    right.plot(rows, peaks, marker="o", label="peak memory (MB)")
    right.set_xscale("log")
    right.set_xlabel("session rows (millions)")
    right.set_ylabel("MB")
    twin = right.twinx()
    twin.plot(rows, disk, marker="s", color="tab:red", label="warehouse file (GB)")
    twin.set_ylabel("GB")
    right.set_title("Peak memory and file size")
    right.legend(loc="upper left", fontsize=8)
    twin.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(results: dict, folder: Path, bench_out: Path) -> tuple[Path, Path]:
    extra_path = bench_out / "results.json"
    extra = json.loads(extra_path.read_text()) if extra_path.exists() else None
    folder.mkdir(parents=True, exist_ok=True)
    markdown_path = folder / "scaling.md"
    plot_path = folder / "scaling.png"
    markdown_path.write_text(markdown(results, extra, plot_path.name))
    plot([p for p, _ in _points(results, extra)], plot_path)
    return markdown_path, plot_path
