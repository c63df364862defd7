"""docs/scaling.md's nightly window: what one hour holds is never read off a curve that
flattens past the sizes measured.

A stage measured at two sizes whose time grew slower than its rows (fixed costs still being
amortised) would, extrapolated as measured, fit billions of pupils in an hour; the page says
what a capacity planner can rely on: at worst linear past the largest size, and nothing past
ten times it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

from bench.scaling import (  # noqa: E402
    EXTRAPOLATION_LIMIT,
    NIGHTLY,
    WINDOW_SECONDS,
    _window,
    fit,
    rows_in_window,
)

ROWS_PER_PUPIL = 100


def size(pupils: int, seconds_per_stage: float, one_thread: float | None = None) -> dict:
    stages = {
        stage: {"wall_seconds": seconds_per_stage, "peak_rss_mb": 100.0}
        for stage in (*NIGHTLY, "build")
    }
    measured = {
        "pupils": pupils,
        "session_rows": pupils * ROWS_PER_PUPIL,
        "total_rows": pupils * ROWS_PER_PUPIL,
        "stages": stages,
    }
    if one_thread:
        measured["threads"] = {"build_one_thread": {"wall_seconds": one_thread}}
    return measured


def test_a_stage_that_grew_slower_than_its_rows_is_extrapolated_linearly() -> None:
    # 10x the rows, only 2x the time: b = 0.30 as measured, 1 when extrapolating
    small, large = size(10_000, 10.0), size(100_000, 20.0)
    a, b = fit([small, large], "daily_build")
    assert b == pytest.approx(0.301, abs=0.001)
    a, b = fit([small, large], "daily_build", at_least_linear=True)
    assert b == 1.0 and a * large["session_rows"] == pytest.approx(20.0)  # through the largest


def test_the_window_holds_at_most_linear_growth_from_the_largest_size() -> None:
    small, large = size(10_000, 10.0), size(100_000, 20.0)
    fits = [fit([small, large], stage, at_least_linear=True) for stage in NIGHTLY]
    ceiling = large["session_rows"] * 1000
    rows = rows_in_window([f for f in fits if f], 1.0, ceiling)
    # three stages of 20 s at 10M rows: linear, the hour holds 3600 / 60 x 10M rows
    linear = large["session_rows"] * WINDOW_SECONDS / (len(NIGHTLY) * 20.0)
    assert rows == pytest.approx(linear, rel=1e-6)


def test_the_page_says_more_than_rather_than_extrapolating_past_ten_times_the_largest() -> None:
    # a nightly run of 3 s at 100k pupils: linear, an hour would hold 120M pupils, far past 10x
    sizes = [size(10_000, 1.0, one_thread=1.9), size(100_000, 1.0, one_thread=1.9)]
    page = "\n".join(_window(sizes))
    limit = 100_000 * EXTRAPOLATION_LIMIT
    assert (
        f"more than {limit * ROWS_PER_PUPIL / 1e6:,.0f} million session rows, {limit:,} pupils"
        in page
    )
    assert "2,644,121,780" not in page and "billion" not in page
    for cores in (2, 16, 64):
        row = next(line for line in page.splitlines() if line.startswith(f"| {cores} |"))
        assert f"more than {limit * ROWS_PER_PUPIL / 1e6:,.0f} million" in row


def test_a_window_within_the_measured_range_is_stated_as_a_figure() -> None:
    # 1,200 s a night at 100k pupils (3 stages of 400 s): an hour holds 3x that, 300k pupils
    sizes = [size(50_000, 200.0), size(100_000, 400.0)]
    page = "\n".join(_window(sizes))
    assert "about **30 million session rows, 300,000 pupils**" in page
    assert "more than" not in page


def test_a_resumed_large_run_keeps_the_sizes_it_finished_and_runs_the_failed_one_again(
    tmp_path: Path,
) -> None:
    import datetime as dt
    import json

    from bench.run import resumed

    combined = tmp_path / "results.json"
    log = tmp_path / "stages.log"
    log.write_text(
        "08:06:21  293 of 425 ERROR creating python table model retention.retention_plan\n"
        "  _duckdb.OutOfMemoryException: Out of Memory Error: failed to allocate 32.0 KiB\n"
        "\x1b[0m08:08:31  Done. PASS=324 WARN=1 ERROR=2 SKIP=101\n"
    )
    earlier = {
        "as_of": "2025-10-01",
        "started_at": "2026-12-06T06:35:30",
        "command": "bench/run.py --sizes 300000 1000000 --large",
        "sizes": [size(300_000, 10.0)],
        "failed": {"pupils": 1_000_000, "name": "build", "returncode": 1, "log": str(log)},
        "unfinished": [],
    }
    combined.write_text(json.dumps(earlier))
    fresh = {"as_of": "2025-10-01", "started_at": "2026-12-06T08:00:00", "command": "again"}
    results = resumed(combined, {**fresh, "sizes": []}, dt.date(2025, 10, 1))
    assert [s["pupils"] for s in results["sizes"]] == [300_000]  # kept, not run again
    assert "failed" not in results and "unfinished" not in results  # 1M runs again
    assert results["started_at"] == earlier["started_at"]
    (entry,) = results["resumed"]
    assert entry["started_at"] == fresh["started_at"] and entry["command"] == "again"
    assert entry["after_failure"]["name"] == "build"  # why the size ran again is kept
    assert entry["after_failure"]["errors"] == [
        "_duckdb.OutOfMemoryException: Out of Memory Error: failed to allocate 32.0 KiB"
    ]
    from bench.scaling import markdown

    page = markdown({**results, "machine": {}}, None, "scaling.png")
    assert "stage `build` failed (exit 1; _duckdb.OutOfMemoryException: Out of Memory" in page
    with pytest.raises(SystemExit, match="as_of 2025-10-01, not 2025-09-01"):
        resumed(combined, {**fresh, "sizes": []}, dt.date(2025, 9, 1))
    # nothing to resume: the fresh run as it is
    assert resumed(tmp_path / "none.json", {**fresh, "sizes": []}, dt.date(2025, 10, 1)) == {
        **fresh,
        "sizes": [],
    }
