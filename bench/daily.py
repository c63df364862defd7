"""A daily extract: the next school day's attendance for the same trust, and nothing else.

The generator is deterministic and an extract one school day later differs from the original
only by that day's marks (same pupils, same marks on every earlier day: the marks are hashes of
seed, pupil and date). So the daily extract is the generator's output for the next school day,
cut down to that day's rows of attendance_sessions.csv (plus the few rows of organisations.csv):
the files an MIS would send on a normal morning. Loading it and building measures what an
incremental day costs.

    python bench/daily.py OUT --pupils 100000 --organisations 40 --years 1 --seed 42
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

from tinytracker.generator import DEFAULT_EXTRACT_DATE, GeneratorConfig, generate_extract
from tinytracker.generator.calendar import academic_year_calendar
from tinytracker.generator.config import academic_year_start

ATTENDANCE_FILE = "attendance_sessions.csv"
ORGANISATIONS_FILE = "organisations.csv"


def next_school_day(day: dt.date) -> dt.date:
    """The first school day (INSET days included: the MIS still sends a mark) after ``day``."""
    start_year = academic_year_start(day)
    for year in (start_year, start_year + 1):
        for school_day in academic_year_calendar(year).school_days:
            if school_day > day:
                return school_day
    raise ValueError(f"no school day after {day}")


def write_daily_extract(
    out: Path,
    *,
    pupils: int,
    organisations: int,
    years: int,
    seed: int,
    extract_date: dt.date = DEFAULT_EXTRACT_DATE,
) -> tuple[dt.date, int]:
    """Write ``out/attendance_sessions.csv`` with the next school day's marks, and organisations.

    Returns the day and the number of rows written.
    """
    day = next_school_day(extract_date)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
        full = Path(scratch) / "extract"
        generate_extract(
            GeneratorConfig(
                out=full,
                organisations=organisations,
                pupils=pupils,
                years=years,
                seed=seed,
                extract_date=day,
            )
        )
        target = out / ATTENDANCE_FILE
        pending = target.with_name(target.name + ".partial")
        con = duckdb.connect(":memory:")
        try:
            rows = con.execute(
                f"""
                copy (
                    select * from read_csv(?, header = true, all_varchar = true)
                    where session_date = ?
                ) to '{pending}' (header, delimiter ',')
                """,
                [str(full / ATTENDANCE_FILE), day.isoformat()],
            ).fetchone()[0]
        finally:
            con.close()
        shutil.move(pending, target)
        # the organisations file rides along (a few rows): an MIS sends it with every sync, and
        # without it rows of an organisation refused earlier would be quarantined, not refused
        shutil.copy(full / ORGANISATIONS_FILE, out / ORGANISATIONS_FILE)
    return day, int(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pupils", type=int, required=True)
    parser.add_argument("--organisations", type=int, required=True)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    day, rows = write_daily_extract(
        args.out,
        pupils=args.pupils,
        organisations=args.organisations,
        years=args.years,
        seed=args.seed,
    )
    print(f"daily extract for {day}: {rows:,} attendance rows in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
