"""The speed probe a benchmark run and a `make test` record carry, so that two runs' figures in
seconds can be compared on a machine whose speed varies by the hour (bench/calibrate.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

from bench import calibrate  # noqa: E402
from bench.report import _heading  # noqa: E402

MACHINE = {
    "cpu": "x",
    "cores": 2,
    "ram_gb": 1,
    "os": "Linux",
    "python": "3.11",
    "duckdb": "1",
    "dbt-core": "1",
    "dbt-duckdb": "1",
    "dagster": "1",
}


def test_the_probe_times_the_fixed_work_in_fresh_interpreters() -> None:
    seconds = calibrate.probe_seconds(repeats=1)
    assert 0 < seconds < 60


def test_a_probe_that_did_other_work_than_the_fixed_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(calibrate, "WORKLOAD", "print(0.01, 1, 2)")
    with pytest.raises(RuntimeError, match="speed probe computed '1 2'"):
        calibrate.probe_seconds(repeats=1)


def test_the_report_says_how_fast_the_machine_was_and_an_old_run_says_nothing() -> None:
    results = {"machine": MACHINE, "as_of": "2025-10-01", "sizes": []}
    probed = "\n".join(_heading({**results, "probe": {"before": 0.155, "after": 0.171}}))
    assert "speed probe (bench/calibrate.py) 0.155 s before the run, 0.171 s after it" in probed
    assert "speed probe" not in "\n".join(_heading(results))
