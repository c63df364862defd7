"""Benchmark the whole pipeline at trust scale, beside the SQL floor and a per-subject eraser.

    .venv/bin/python bench/run.py --sizes 10000 30000 100000 --doc      # make bench
    .venv/bin/python bench/run.py --sizes 1000 --out bench/out/smoke    # make bench-smoke

For each size (pupils on roll; one academic year of attendance) in its own folder
``<out>/<size>/`` with its own warehouse, dbt target and log folders, analyst database, backup
folder and a throwaway TINYTRACKER_SECRET made here (printed, never stored), it runs as
subprocesses, each measured the same way (wall time, peak RSS summed over the process tree,
bench/measure.py):

1. generate   ``tinytracker generate`` (organisations = pupils / 2500, at least 7)
2. load       ``tinytracker load`` (exit 4, partial, expected: ORG005's MIS permission is revoked)
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
10. dbt_start and erase_request (bench/people.py): a build for a new date, timed to dbt's
              first node; three erasure requests and the apply that finishes them

``--large`` (make bench-large: 300k and 1M pupils) leaves out the per-subject erasers, builds
the loaded warehouse again with one thread, and writes docs/scaling.md (bench/scaling.py).

Results go to ``<out>/<size>/results.json`` and ``<out>/results.json``; ``--doc`` also writes
docs/benchmarks.md and docs/benchmarks.png (bench/report.py), otherwise the report goes to
``<out>/benchmarks.md`` (and ``<out>/scaling.md``) so a smoke run exercises both reports without
touching the docs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path.insert(0, str(PROJECT_DIR))

from bench import report, scaling  # noqa: E402
from bench.calibrate import probe_seconds  # noqa: E402
from bench.figures import sanity_failures  # noqa: E402
from bench.measure import StageFailed, machine  # noqa: E402
from bench.size import bench_size  # noqa: E402
from tinytracker.core.warehouse import memory_limit  # noqa: E402

DEFAULT_SIZES = (10_000, 30_000, 100_000)
DEFAULT_AS_OF = dt.date(2025, 10, 1)


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
        "--large",
        action="store_true",
        help="the scaling run (make bench-large): no per-subject erasers, one build again with "
        "one thread, and docs/scaling.md (with --doc) instead of docs/benchmarks.md",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the sizes OUT/results.json already finished (same as_of) and run only the "
        "others: a multi-hour --large run interrupted or failed at its last size goes on from "
        "there; the report names both starts",
    )
    parser.add_argument(
        "--skip-one-thread",
        action="store_true",
        help="with --large: leave out the one-thread build (the window is then grounded on "
        "the largest size that measured it)",
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
        command = " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])])
        results = {
            "machine": machine(),
            "as_of": args.as_of.isoformat(),
            "started_at": dt.datetime.now().isoformat(timespec="seconds"),
            "command": command,
            "sizes": [],
            "probe": {"before": probe_seconds()},
        }
        if args.resume:
            results = resumed(combined, results, args.as_of)
        done = {size["pupils"] for size in results["sizes"]}
        for pupils in sorted(set(args.sizes) - done):
            try:
                measured = bench_size(
                    pupils,
                    out,
                    args.as_of,
                    args.sample,
                    args.seed,
                    erasers=not args.large,
                    threads_compare=args.large and not args.skip_one_thread,
                    reuse_loaded=args.resume,
                )
            except StageFailed as failure:
                if not args.large:
                    raise
                # where one machine ends may be a stage that fails: that is the finding
                results["failed"] = {"pupils": pupils, **failure.result.as_dict()}
                print(f"bench: {pupils:,} pupils: {failure}", file=sys.stderr)
                break
            results["sizes"].append(measured)
            results["sizes"].sort(key=lambda size: size["pupils"])
            combined.write_text(json.dumps(results, indent=2))
            if args.large:  # a long run leaves its report after every size it finished
                results["large"] = True
                scaling.write_report(results, PROJECT_DIR / "docs" if args.doc else out, out.parent)
    if not args.report_only:
        results.setdefault("probe", {})["after"] = probe_seconds()
        combined.write_text(json.dumps(results, indent=2))
    doc_dir = PROJECT_DIR / "docs" if args.doc else out
    if args.large or results.get("large"):
        results["large"] = True
        results["unfinished"] = unfinished_sizes(out, results)
        combined.write_text(json.dumps(results, indent=2))
        markdown, plot = scaling.write_report(results, doc_dir, out.parent)
        print(f"bench: scaling report written to {markdown} and {plot}")
        return 0
    record = out / "make-test.json"  # written by make test (bench/make_test_time.py)
    results["make_test"] = json.loads(record.read_text()) if record.exists() else None
    markdown, plot = report.write_report(results, doc_dir)
    print(f"bench: report written to {markdown} and {plot}")
    if not args.doc:  # a smoke run exercises the scaling report too, beside its own
        markdown, plot = scaling.write_report(results, out, out.parent)
        print(f"bench: scaling report (exercised) written to {markdown} and {plot}")
    failures = sanity_failures(results)
    for problem in failures:
        print(f"bench: FAILED {problem}", file=sys.stderr)
    return 1 if failures else 0


def resumed(combined: Path, fresh: dict, as_of: dt.date) -> dict:
    """The earlier run's results with its finished sizes, this run's start and command beside
    its own; its failure (if any) is dropped, since the size runs again."""
    if not combined.exists():
        return fresh
    earlier = json.loads(combined.read_text())
    if earlier.get("as_of") != as_of.isoformat():
        raise SystemExit(
            f"bench: --resume: {combined} is for as_of {earlier.get('as_of')}, not {as_of}"
        )
    failed = earlier.pop("failed", None)
    earlier.pop("unfinished", None)
    entry = {"started_at": fresh["started_at"], "command": fresh["command"]}
    if failed:  # what sent the size back: the report says it (where one machine ends)
        entry["after_failure"] = {
            key: failed.get(key) for key in ("pupils", "name", "returncode", "log")
        }
        entry["after_failure"]["errors"] = failure_errors(failed.get("log"))
    entry["memory_limit"] = memory_limit()
    earlier.setdefault("resumed", []).append(entry)
    return earlier


def failure_errors(log: str | None, last: int = 400) -> list[str]:
    """The distinct error lines at the end of a failed stage's log (dbt's and DuckDB's), so the
    report says why a size ran again, not only that it did."""
    if not log or not Path(log).exists():
        return []
    tail = Path(log).read_text(errors="replace").splitlines()[-last:]
    errors: list[str] = []
    for line in tail:
        text = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        if re.search(r"(Error|Exception): ", text) and text not in errors:
            errors.append(text)
    return errors


def unfinished_sizes(out: Path, results: dict) -> list[dict]:
    """Sizes a stopped run began but did not finish, with the stages they measured."""
    done = {size["pupils"] for size in results["sizes"]}
    failed = results.get("failed")
    unfinished = []
    for partial in sorted(out.glob("*/partial.json")):
        measured = json.loads(partial.read_text())
        if failed and measured["pupils"] == failed["pupils"]:
            failed["stages"] = measured["stages"]  # what it measured before the failure
        elif measured["pupils"] not in done:
            unfinished.append(measured)
    return unfinished


if __name__ == "__main__":
    sys.exit(main())
