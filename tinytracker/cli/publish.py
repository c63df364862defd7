"""``tinytracker publish``: copy the analytic marts into the read-only analyst database."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.publishing.publish import ANALYTICS_DB_ENV, PublishResult, publish_marts

DESCRIPTION = f"""\
Copy the tables of schema marts (aggregates only, small cells suppressed) from the
warehouse (env TINYTRACKER_DB) into a fresh analyst database (env {ANALYTICS_DB_ENV}, default
warehouse/analytics.duckdb), and write one Parquet file per mart into analytics/ beside it.
Nothing else leaves the warehouse. Only closed periods are published, each once: a term or
year is released 30 days after it ends and never revised, so two copies never differ by one
pupil (docs/analysts.md). The new file replaces the old one in a single rename, so readers
never see a half-written file, and it is read-only on disk: open it with
duckdb.connect(path, read_only=True) in Python (the duckdb package the project installs).

`tinytracker build` publishes after every successful build; run this command to publish
again without building.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="copy the marts (and nothing else) into the read-only analyst database",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--analytics-db",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"analyst database to write (default: env {ANALYTICS_DB_ENV})",
    )
    parser.add_argument(
        "--parquet-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="Parquet folder (default: analytics/ beside the analyst database)",
    )
    options.leaf(parser, run, command_name="publish")


def run(args: argparse.Namespace) -> Outcome:
    result = publish_marts(None, args.analytics_db, args.parquet_dir)
    print(format_result(result))
    return Outcome(to_json(result), record=result)


def to_json(result: PublishResult) -> dict[str, object]:
    """The JSON result of ``publish`` (schemas/publish.json), also inside ``build``'s."""
    return {
        "analytics_db": result.analytics_db,
        "parquet_dir": result.parquet_dir,
        "marts": [{"mart": name, "rows": rows} for name, rows in result.row_counts.items()],
    }


def format_result(result: PublishResult) -> str:
    """A short report: where the files went, the rows of each mart and the partitions this
    publish released for the first time."""
    width = max((len(name) for name in result.tables), default=0)
    lines = [
        f"Published {len(result.tables)} mart(s) to {result.analytics_db} (read-only)",
        f"Parquet: {result.parquet_dir}",
    ]
    lines += [
        f"  marts.{name:<{width}}  {rows:>9,} rows"
        f"  ({result.released.get(name, 0):,} partitions released now)"
        for name, rows in result.row_counts.items()
    ]
    return "\n".join(lines)
