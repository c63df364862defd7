"""Time ``make test``'s checks and record the figure for docs/benchmarks.md.

    .venv/bin/python bench/make_test_time.py --record bench/out/make-test.json -- make checks

Issue 16 holds ``make test`` to 6 minutes on an idle 2-core machine. The time is measured by
the run itself, not guessed: ``make test`` runs its checks under this wrapper, which writes the
wall time, the machine, and the load average when it started (a figure taken beside a busy
neighbour says so) to ``bench/out/make-test.json``. ``make bench`` reads the newest record
into its targets table. Installing (``uv sync``) is not included: on a fresh clone it is a
cache copy, and it is the same for every command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench.measure import machine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, required=True, help="JSON file to write")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to time after --")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    started_at = dt.datetime.now().isoformat(timespec="seconds")
    returncode = subprocess.call(command)
    seconds = time.monotonic() - started
    record = {
        "command": " ".join(command),
        "started_at": started_at,
        "wall_seconds": round(seconds, 1),
        "returncode": returncode,
        "load_average_before": round(load_before, 2),
        "cwd": str(Path.cwd()),
        "machine": machine(),
    }
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(record, indent=2))
    print(f"make test: {seconds:,.0f} s (recorded in {args.record})")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
