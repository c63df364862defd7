"""Benchmark the whole pipeline at trust scale, beside the SQL floor and a per-subject eraser.

    .venv/bin/python bench/run.py --sizes 10000 30000 100000 --doc      # make bench
    .venv/bin/python bench/run.py --sizes 1000 --out bench/out/smoke    # make bench-smoke

For each size (pupils on roll; one academic year of attendance) in its own folder
``<out>/<size>/`` with its own warehouse, dbt target and log folders, analyst database, backup
folder and a throwaway TINYTRACKER_SECRET made here (printed, never stored), it runs as
subprocesses, each measured the same way (wall time, peak RSS summed over the process tree,
bench/measure.py):

1. generate   ``tinytracker generate`` (organisations = pupils / 2500, at least 7)
2. load       ``tinytracker load`` (exit 3 is expected: ORG005's MIS permission is revoked)
3. build      ``dbt build`` for as_of through tinytracker.core.dbt.run_dbt_build
4. plan       ``tinytracker retention plan`` (dry run)
5. apply      ``tinytracker retention apply`` (plan models, one-transaction apply, dbt run,
              publish, physical-erasure rewrite of the file)
6. publish    ``tinytracker publish``
7. floor      bench/floor.py on a copy of the warehouse taken right after the load
8. eraser     bench/per_subject.py on a copy taken right after the plan stage; again
              (eraser_by_day) with the marks rewritten in date order first, the layout daily
              loads leave; and (eraser_by_row) one statement per row, addressed by its key
9. daily      one more school day of marks (bench/daily.py): ``tinytracker load`` then the
              same ``dbt build`` as stage 3, against the warehouse the stages above left

Results go to ``<out>/<size>/results.json`` and ``<out>/results.json``; ``--doc`` also writes
docs/benchmarks.md and docs/benchmarks.png (bench/report.py), otherwise the report goes to
``<out>/benchmarks.md`` so a smoke run exercises it without touching the docs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

import duckdb

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench import report  # noqa: E402
from bench.daily import write_daily_extract  # noqa: E402
from bench.measure import StageResult, machine, run_stage  # noqa: E402

DEFAULT_SIZES = (10_000, 30_000, 100_000)
DEFAULT_AS_OF = dt.date(2025, 10, 1)
LOAD_OK = (0, 3)  # 3: an organisation's MIS permission is revoked (by design in the generator)
RAW_TABLES = (
    "organisations",
    "pupils",
    "pupil_contacts",
    "attendance_sessions",
    "assessments",
    "sen_records",
    "employees",
    "reports",
    "correspondence",
    "setup_imports",
)


def organisations_for(pupils: int) -> int:
    return max(7, pupils // 2500)


def size_environment(folder: Path, secret: str) -> dict[str, str]:
    """Everything a stage reads from the environment, pointed into the size's own folder."""
    warehouse = folder / "warehouse"
    return {
        **os.environ,
        "TINYTRACKER_DB": str(warehouse / "tinytracker.duckdb"),
        "TINYTRACKER_SECRET": secret,
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
        "TINYTRACKER_ANALYTICS_DB": str(warehouse / "analytics.duckdb"),
        "TINYTRACKER_BACKUP_DIR": str(folder / "backups"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _query(db: Path, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def _copy(db: Path, target: Path) -> None:
    """A copy of a closed warehouse file (no WAL: every stage closes its connection)."""
    if db.with_name(db.name + ".wal").exists():
        raise RuntimeError(f"{db} has a WAL; refusing to copy a half-written warehouse")
    shutil.copyfile(db, target)


def _node_seconds(target: Path, top: int = 12) -> list[tuple[str, float]]:
    """The slowest nodes of the last dbt command (target/run_results.json)."""
    path = target / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text())["results"]
    timed = sorted(
        ((r["unique_id"], float(r["execution_time"])) for r in results), key=lambda item: -item[1]
    )
    return [(uid, round(seconds, 2)) for uid, seconds in timed[:top]]


def _dbt_summary(target: Path) -> dict[str, float]:
    """Seconds dbt spent per resource type in its last command, and its own elapsed time."""
    path = target / "run_results.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    summary: dict[str, float] = {"dbt_elapsed": round(float(data.get("elapsed_time", 0)), 2)}
    for result in data["results"]:
        kind = result["unique_id"].split(".", 1)[0]
        summary[kind] = round(summary.get(kind, 0.0) + float(result["execution_time"]), 2)
    for result in data["results"]:
        name = result["unique_id"].rsplit(".", 1)[-1]
        if name in ("int_attendance_sessions_classified", "int_pupil_attendance_summarised"):
            summary[name] = round(float(result["execution_time"]), 2)
    return summary


def bench_size(
    pupils: int, out: Path, as_of: dt.date, sample: int, seed: int, log=print
) -> dict[str, object]:
    """Every stage for one size; returns the size's results (also written as JSON)."""
    folder = out / str(pupils)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    organisations = organisations_for(pupils)
    secret = secrets.token_hex(32)
    env = size_environment(folder, secret)
    db = Path(env["TINYTRACKER_DB"])
    db.parent.mkdir(parents=True)
    target = Path(env["DBT_TARGET_PATH"])
    logs = folder / "stages.log"
    tt = _bin("tinytracker")
    stages: dict[str, StageResult] = {}
    started = time.perf_counter()

    def stage(name: str, command: list[str], ok: tuple[int, ...] = (0,)) -> StageResult:
        result = run_stage(name, command, env=env, cwd=PROJECT_DIR, log=logs, ok_returncodes=ok)
        stages[name] = result
        log(
            f"  {pupils:>7,} {name:<12} {result.wall_seconds:8.1f} s  "
            f"{result.peak_rss_mb:8.0f} MB peak"
        )
        return result

    as_of_text = as_of.isoformat()
    stage(
        "generate",
        [
            tt,
            "generate",
            "--out",
            str(folder / "extract"),
            "--pupils",
            str(pupils),
            "--organisations",
            str(organisations),
            "--years",
            "1",
            "--seed",
            str(seed),
            "--quiet",
        ],
    )
    stage("load", [tt, "load", str(folder / "extract")], ok=LOAD_OK)
    loaded_copy = folder / "loaded.duckdb"
    _copy(db, loaded_copy)
    counts = {table: _query(db, f"select count(*) from raw.{table}")[0][0] for table in RAW_TABLES}

    stage(
        "build",
        _python(
            "import sys; from tinytracker.core.dbt import run_dbt_build; "
            f"sys.exit(run_dbt_build('{as_of_text}'))"
        ),
    )
    build_nodes = _node_seconds(target)
    build_summary = _dbt_summary(target)
    stage("plan", [tt, "retention", "plan", "--as-of", as_of_text])
    planned_copy = folder / "planned.duckdb"
    _copy(db, planned_copy)
    stage("apply", [tt, "retention", "apply", "--as-of", as_of_text])
    apply_summary = _dbt_summary(target)
    stage("publish", [tt, "publish"])
    run = _query(
        db,
        "select run_id, subjects_affected, rows_affected from audit.retention_runs "
        "where not is_dry_run order by started_at desc limit 1",
    )
    run_id, subjects, rows_changed = run[0] if run else (None, 0, 0)

    # the floor, on the warehouse as loaded
    floor_json = folder / "floor.json"
    stage(
        "floor",
        [
            sys.executable,
            str(BENCH_DIR / "floor.py"),
            str(loaded_copy),
            "--as-of",
            as_of_text,
            "--json",
            str(floor_json),
        ],
    )
    floor = json.loads(floor_json.read_text())
    token_sql = (
        "select subject_kind, organisation_id, subject_token, rule_id "
        "from audit.erasure_suppressions where run_id = ?"
    )
    ours = set(_query(db, token_sql, [run_id]))
    theirs = set(_query(loaded_copy, token_sql, [floor["run_id"]]))
    floor["same_subjects_as_ours"] = ours == theirs
    floor["subjects_only_ours"] = len(ours - theirs)
    floor["subjects_only_floor"] = len(theirs - ours)

    # the per-subject eraser, on the warehouse as planned: rows as loaded, then in date order
    by_day_copy = folder / "planned-by-day.duckdb"
    shutil.copyfile(planned_copy, by_day_copy)
    by_row_copy = folder / "planned-by-row.duckdb"
    shutil.copyfile(planned_copy, by_row_copy)
    eraser_json = folder / "eraser.json"
    stage(
        "eraser",
        [
            sys.executable,
            str(BENCH_DIR / "per_subject.py"),
            str(planned_copy),
            "--sample",
            str(sample),
            "--json",
            str(eraser_json),
        ],
    )
    eraser = json.loads(eraser_json.read_text())
    by_day_json = folder / "eraser-by-day.json"
    stage(
        "eraser_by_day",
        [
            sys.executable,
            str(BENCH_DIR / "per_subject.py"),
            str(by_day_copy),
            "--sample",
            str(sample),
            "--layout",
            "by-day",
            "--json",
            str(by_day_json),
        ],
    )
    eraser_by_day = json.loads(by_day_json.read_text())
    by_row_json = folder / "eraser-by-row.json"
    stage(
        "eraser_by_row",
        [
            sys.executable,
            str(BENCH_DIR / "per_subject.py"),
            str(by_row_copy),
            "--sample",
            str(sample),
            "--granularity",
            "row",
            "--json",
            str(by_row_json),
        ],
    )
    eraser_by_row = json.loads(by_row_json.read_text())

    # a daily extract: one more school day of marks, loaded and built incrementally
    daily_folder = folder / "daily"
    daily_started = time.perf_counter()
    day, daily_rows = write_daily_extract(
        daily_folder, pupils=pupils, organisations=organisations, years=1, seed=seed
    )
    daily_prepare_seconds = round(time.perf_counter() - daily_started, 2)
    stage("daily_load", [tt, "load", str(daily_folder)], ok=LOAD_OK)
    stage(
        "daily_build",
        _python(
            "import sys; from tinytracker.core.dbt import run_dbt_build; "
            f"sys.exit(run_dbt_build('{as_of_text}'))"
        ),
    )
    daily_summary = _dbt_summary(target)
    daily_nodes = _node_seconds(target)

    size_bytes = {
        name: path.stat().st_size for name, path in (("warehouse", db), ("loaded", loaded_copy))
    }
    for copy in (loaded_copy, planned_copy, by_day_copy, by_row_copy):  # big, done with
        copy.unlink(missing_ok=True)
    shutil.rmtree(folder / "extract", ignore_errors=True)
    result = {
        "pupils": pupils,
        "organisations": organisations,
        "as_of": as_of_text,
        "raw_rows": counts,
        "session_rows": counts["attendance_sessions"],
        "total_rows": sum(counts.values()),
        "file_bytes": size_bytes,
        "stages": {name: r.as_dict() for name, r in stages.items()},
        "subjects_actioned": int(subjects or 0),
        "rows_changed": int(rows_changed or 0),
        "floor": floor,
        "eraser": eraser,
        "eraser_by_day": eraser_by_day,
        "eraser_by_row": eraser_by_row,
        "build_nodes": build_nodes,
        "build_dbt": build_summary,
        "apply_dbt": apply_summary,
        "daily": {
            "day": day.isoformat(),
            "rows": daily_rows,
            "prepare_seconds": daily_prepare_seconds,
            "dbt": daily_summary,
            "nodes": daily_nodes,
        },
        "harness_seconds": round(time.perf_counter() - started, 1),
    }
    (folder / "results.json").write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the pipeline at trust scale beside the floor and a per-subject "
        "eraser (see the module docstring)."
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="PUPILS",
        help="pupils per synthetic trust (default: 10000 30000 100000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "out",
        help="working folder, one sub-folder per size (default bench/out)",
    )
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=DEFAULT_AS_OF,
        help=f"retention evaluation date (default {DEFAULT_AS_OF})",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=200,
        help="subjects the per-subject eraser erases (default 200)",
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument(
        "--doc",
        action="store_true",
        help="write docs/benchmarks.md and docs/benchmarks.png (otherwise the "
        "report goes to OUT/benchmarks.md and OUT/benchmarks.png)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the report from OUT/results.json without running anything",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    combined = out / "results.json"
    if args.report_only:
        results = json.loads(combined.read_text())
    else:
        out.mkdir(parents=True, exist_ok=True)
        print(
            f"bench: sizes {', '.join(f'{s:,}' for s in args.sizes)} pupils, as_of "
            f"{args.as_of}, into {out}"
        )
        print(
            "bench: each size gets a throwaway TINYTRACKER_SECRET generated here (random, "
            "never written to disk); its warehouse is synthetic"
        )
        results = {
            "machine": machine(),
            "as_of": args.as_of.isoformat(),
            "started_at": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
            "sizes": [],
        }
        for pupils in sorted(args.sizes):
            results["sizes"].append(bench_size(pupils, out, args.as_of, args.sample, args.seed))
            combined.write_text(json.dumps(results, indent=2))
    doc_dir = PROJECT_DIR / "docs" if args.doc else out
    markdown, plot = report.write_report(results, doc_dir)
    print(f"bench: report written to {markdown} and {plot}")
    failures = report.sanity_failures(results)
    for failure in failures:
        print(f"bench: FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
