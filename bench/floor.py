"""Run the floor (bench/floor.sql) on a warehouse file: status, plan, apply, physical erasure.

    python bench/floor.py WAREHOUSE.duckdb --as-of 2025-10-01

Works in place on ``WAREHOUSE`` (the harness hands it a copy of the warehouse taken right after
the load). The suppression key comes from ``TINYTRACKER_SECRET``, as for the real apply, so the
two write the same tokens for the same subjects and can be compared. The file swap mirrors
``tinytracker.core.files.rebuild`` (new file, fsync, atomic rename, old inode zero-filled) but is
written out here so the floor depends on nothing but DuckDB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).with_name("floor.sql")
SECRET_ENV = "TINYTRACKER_SECRET"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shred(path: Path) -> None:
    size = path.stat().st_size
    chunk = b"\0" * (1 << 20)
    with open(path, "r+b", buffering=0) as handle:
        remaining = size
        while remaining > 0:
            remaining -= handle.write(chunk[: min(len(chunk), remaining)])
        os.fsync(handle.fileno())
    path.unlink()


def run_floor(db: Path, as_of: dt.date, secret: str) -> dict[str, object]:
    """Apply the floor to ``db`` in place; returns subject counts per rule and timings."""
    db = db.resolve()
    fresh = db.with_name(db.name + ".floor-rebuild")
    old = db.with_name(db.name + ".floor-old")
    for leftover in (fresh, old):
        leftover.unlink(missing_ok=True)
    script = SCRIPT.read_text().replace("{{fresh}}", _literal(str(fresh)))
    run_id = str(uuid.uuid4())
    timings: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {_literal(str(db))} as wh")
        con.execute("use wh")
        con.execute("set variable as_of = ?::date", [as_of.isoformat()])
        con.execute("set variable tt_secret = ?", [secret])
        con.execute("set variable run_id = ?", [run_id])
        con.execute(script)
        timings["sql_seconds"] = round(time.perf_counter() - started, 3)
        counts = dict(
            con.execute(
                # subjects the plan named (the contacts deleted with a pupil are listed too,
                # but they are not subjects of a rule)
                "select rule_id, subjects from temp.floor_subject_counts order by rule_id"
            ).fetchall()
        )
        con.execute("use memory")
        con.execute("detach wh")
    finally:
        con.close()
    swap_started = time.perf_counter()
    _fsync(fresh)
    os.link(db, old)
    os.replace(fresh, db)
    _fsync(db.parent)
    _shred(old)
    timings["swap_seconds"] = round(time.perf_counter() - swap_started, 3)
    timings["total_seconds"] = round(time.perf_counter() - started, 3)
    return {
        "run_id": run_id,
        "subjects_by_rule": counts,
        "subjects": sum(counts.values()),
        **timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="warehouse file to apply the floor to, in place")
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--json", type=Path, help="write the result here as JSON")
    parser.add_argument(
        "--token-key-from",
        type=Path,
        help="key the suppression tokens with this warehouse's token key (ours, after its "
        "apply), so the floor's tokens and ours compare subject for subject",
    )
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        print(f"floor: set {SECRET_ENV} (at least 16 characters)", file=sys.stderr)
        return 2
    if args.token_key_from:
        # tokens are keyed with a random key wrapped under the secret (tinytracker.core.secret)
        from tinytracker.core.secret import token_key

        ours = duckdb.connect(str(args.token_key_from), read_only=True)
        try:
            secret = token_key(ours, create=False)
        finally:
            ours.close()
    result = run_floor(args.db, args.as_of, secret)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
