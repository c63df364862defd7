"""One size of the benchmark: every stage, each a measured subprocess, in its own folder.

The size's folder ``<out>/<pupils>/`` has its own warehouse, dbt target and log folders,
analyst database, backup folder and a throwaway TINYTRACKER_SECRET, so sizes never share
state and a stage's figures are its own. The stages are listed in :mod:`bench.run`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

import duckdb

from bench.daily import write_daily_extract
from bench.daily_split import split_of_last_command
from bench.measure import StageResult, run_stage
from bench.people import dbt_start, erase_requests, pupils_to_erase
from tinytracker.core.warehouse import memory_limit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent


LOAD_OK = (0, 4)  # 4 (partial): an organisation's MIS permission is revoked (by design)
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


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def bench_size(
    pupils: int,
    out: Path,
    as_of: dt.date,
    sample: int,
    seed: int,
    log=print,
    *,
    erasers: bool = True,
    threads_compare: bool = False,
    erase_count: int = 3,
    reuse_loaded: bool = False,
) -> dict[str, object]:
    """Every stage for one size; returns the size's results (also written as JSON).

    ``erasers`` runs the per-subject erasers (comparisons, not our pipeline: bench-large
    leaves them out, the date-order one re-sorts every mark in memory). ``threads_compare``
    builds a copy of the loaded warehouse again with one thread (TINYTRACKER_THREADS=1).
    ``reuse_loaded`` (bench/run.py --resume) starts from the extract and the loaded copy an
    earlier attempt at this size left, with that attempt's generate and load figures: at 1M
    pupils they are 20 minutes, and the stages after them are what a failure sends back to.
    """
    folder = out / str(pupils)
    earlier = _loaded_stages(folder) if reuse_loaded else None
    if earlier is None and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    organisations = organisations_for(pupils)
    secret = secrets.token_hex(32)
    env = size_environment(folder, secret)
    db = Path(env["TINYTRACKER_DB"])
    if earlier is not None:  # everything after the load goes, the loaded copy comes back
        for leftover in ("warehouse", "target", "logs", "backups", "daily"):
            shutil.rmtree(folder / leftover, ignore_errors=True)
    db.parent.mkdir(parents=True)
    target = Path(env["DBT_TARGET_PATH"])
    logs = folder / "stages.log"
    tt = _bin("tinytracker")
    stages: dict[str, StageResult] = {}
    started = time.perf_counter()

    def stage(name: str, command: list[str], ok: tuple[int, ...] = (0,)) -> StageResult:
        result = run_stage(name, command, env=env, cwd=PROJECT_DIR, log=logs, ok_returncodes=ok)
        stages[name] = result
        # a run stopped part-way (a long 1M run) still leaves what it measured
        partial = {"pupils": pupils, "stages": {k: r.as_dict() for k, r in stages.items()}}
        (folder / "partial.json").write_text(json.dumps(partial, indent=2))
        log(
            f"  {pupils:>7,} {name:<12} {result.wall_seconds:8.1f} s  "
            f"{result.peak_rss_mb:8.0f} MB peak"
        )
        return result

    as_of_text = as_of.isoformat()
    loaded_copy = folder / "loaded.duckdb"
    if earlier is not None:
        stages.update(earlier)
        log(f"  {pupils:>7,} generate and load: reused from the earlier attempt (--resume)")
        _copy(loaded_copy, db)
    else:
        _generate_and_load(stage, tt, folder, pupils, organisations, seed)
        _copy(db, loaded_copy)
    extract_bytes = _tree_bytes(folder / "extract")
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
    if erasers:  # the per-subject erasers start from the warehouse as planned
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

    # the floor, on its own copy of the warehouse as loaded: the one-thread build below starts
    # from the loaded copy, which must not hold the floor's erasure (it did, and its audit rows
    # failed that build's data tests at 300k pupils)
    floor_json = folder / "floor.json"
    floor_copy = folder / "floor.duckdb"
    _copy(loaded_copy, floor_copy)
    stage(
        "floor",
        [
            sys.executable,
            str(BENCH_DIR / "floor.py"),
            str(floor_copy),
            "--as-of",
            as_of_text,
            "--json",
            str(floor_json),
            "--token-key-from",
            str(db),
        ],
    )
    floor = json.loads(floor_json.read_text())
    token_sql = (
        "select subject_kind, organisation_id, subject_token, rule_id "
        "from audit.erasure_suppressions where run_id = ?"
    )
    ours = set(_query(db, token_sql, [run_id]))
    theirs = set(_query(floor_copy, token_sql, [floor["run_id"]]))
    floor["same_subjects_as_ours"] = ours == theirs
    floor["subjects_only_ours"] = len(ours - theirs)
    floor["subjects_only_floor"] = len(theirs - ours)
    # the loaded copy stays as loaded (the one-thread build of bench-large starts from it)
    floor["loaded_copy_actioned"] = _query(
        loaded_copy, "select count(*) from audit.erasure_suppressions"
    )[0][0]

    eraser = eraser_by_day = eraser_by_row = None
    by_day_copy = folder / "planned-by-day.duckdb"
    by_row_copy = folder / "planned-by-row.duckdb"
    if erasers:
        # the per-subject eraser, on the warehouse as planned: rows as loaded, then in date order
        shutil.copyfile(planned_copy, by_day_copy)
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
    daily_split = split_of_last_command(target)

    # where a person waits: dbt's start for a new date, one erasure request
    start = dbt_start(stage, tt, as_of, target, folder / "logs" / "dbt.log")
    chosen = pupils_to_erase(lambda sql: _query(db, sql), erase_count)
    erasure = erase_requests(stage, tt, chosen, as_of)

    threads: dict[str, object] | None = None
    if threads_compare:
        threads = _threads_compare(folder, loaded_copy, env, as_of_text, stage)

    size_bytes = {
        name: path.stat().st_size for name, path in (("warehouse", db), ("loaded", loaded_copy))
    }
    size_bytes["extract"] = extract_bytes
    size_bytes["folder_peak"] = _tree_bytes(folder) + extract_bytes
    for copy in (loaded_copy, floor_copy, planned_copy, by_day_copy, by_row_copy):  # done with
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
            "split": daily_split,
        },
        "dbt_start": start,
        "erasure_request": erasure,
        "threads": threads,
        "harness_seconds": round(time.perf_counter() - started, 1),
        "memory_limit": memory_limit(env),
        "reused_loaded": earlier is not None,
    }
    (folder / "results.json").write_text(json.dumps(result, indent=2))
    return result


def _generate_and_load(stage, tt: str, folder: Path, pupils: int, organisations: int, seed: int):
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


def _loaded_stages(folder: Path) -> dict[str, StageResult] | None:
    """generate and load as an earlier attempt at this size measured them, when it left its
    extract and its copy of the warehouse as loaded; else None (the size starts afresh)."""
    partial = folder / "partial.json"
    if not (
        partial.exists() and (folder / "loaded.duckdb").exists() and (folder / "extract").is_dir()
    ):
        return None
    measured = json.loads(partial.read_text())["stages"]
    if not {"generate", "load"} <= measured.keys():
        return None
    return {name: StageResult(**measured[name]) for name in ("generate", "load")}


def _threads_compare(
    folder: Path,
    loaded_copy: Path,
    env: dict[str, str],
    as_of_text: str,
    stage,
) -> dict[str, object]:
    """The first full build again, on a copy of the loaded warehouse, with one thread."""
    one = folder / "one-thread"
    one.mkdir()
    db = one / "tinytracker.duckdb"
    _copy(loaded_copy, db)
    one_env = {
        **env,
        "TINYTRACKER_DB": str(db),
        "DBT_TARGET_PATH": str(one / "target"),
        "DBT_LOG_PATH": str(one / "logs"),
        "TINYTRACKER_ANALYTICS_DB": str(one / "analytics.duckdb"),
        "TINYTRACKER_THREADS": "1",
    }
    result = run_stage(
        "build_one_thread",
        _python(
            "import sys; from tinytracker.core.dbt import run_dbt_build; "
            f"sys.exit(run_dbt_build('{as_of_text}'))"
        ),
        env=one_env,
        cwd=PROJECT_DIR,
        log=folder / "stages.log",
    )
    summary = _dbt_summary(one / "target")
    shutil.rmtree(one, ignore_errors=True)
    return {"build_one_thread": result.as_dict(), "dbt": summary}
