"""``tinytracker load DIR``: load one MIS extract folder into the warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytracker.cli import options
from tinytracker.cli.output import Outcome
from tinytracker.core.errors import ExitCode
from tinytracker.loading import format_result, load_extract
from tinytracker.loading.result import COUNT_COLUMNS, LoadResult

DESCRIPTION = """\
Load one extract folder into schema raw of the DuckDB warehouse (env TINYTRACKER_DB). The
folder holds one file per landing file of the contract (docs/landing-contract.md):
organisations, pupils, pupil_contacts, attendance_sessions, assessments, sen_records,
employees, reports, correspondence, setup_imports; each as <name>.csv, <name>.csv.gz
(gzip-compressed CSV) or <name>.parquet; any may be absent.

Rows are upserted on the contract keys: loading the same extract twice changes nothing (the
quarantine included), a newer extract updates changed rows, and rows missing from an extract
are kept. Rows that break the contract go to raw.quarantine with their file, line and rule;
everything else loads. A line the CSV reader cannot split into the header's columns (a
truncated last line, missing or extra fields, an unclosed quote) is quarantined as
malformed_row with its line number. The load prints per-file counts and, for each file with
quarantined rows, the first few of them (file:line, rule). Subjects erased by a retention run
are not loaded again.

The whole load is one transaction: a missing folder, an unknown file (anything but the files
above; hidden dot-files are ignored), a wrong header, an empty or non-UTF-8 file fails it and
nothing changes. Organisations whose MIS permission is revoked (in the warehouse or in the
extract) get nothing stored; the load finishes for everyone else, lists them and exits with
status 4 (partial).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "load",
        help="load one MIS extract folder into the warehouse (schema raw)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("extract", metavar="DIR", type=Path, help="the extract folder")
    options.leaf(parser, run, command_name="load")


def run(args: argparse.Namespace) -> Outcome:
    result = load_extract(args.extract)
    print(format_result(result))
    outcome = Outcome(to_json(result), record=result)
    if result.refused_organisations:
        names = ", ".join(
            f"{org.organisation_id} ({org.name or 'no name'})"
            for org in result.refused_organisations
        )
        outcome.exit_code = ExitCode.PARTIAL
        outcome.warning = (
            f"partial: MIS permission revoked, nothing was loaded for {names}; everything else "
            "was loaded (an extract cannot re-grant permission; that is a separate, deliberate "
            "step)."
        )
    return outcome


def to_json(result: LoadResult) -> dict[str, object]:
    """The JSON result of ``load`` (schemas/load.json)."""
    return {
        "load_id": result.load_id,
        "extract": result.extract_path,
        "warehouse": result.db_path,
        "files": [
            {
                "file": f.file_name,
                "landing_file": f.landing_file,
                **{name: f.count(name) for name in COUNT_COLUMNS},
                "already_quarantined": f.already_quarantined,
                "quarantined_lines": [
                    {"line": q.line, "rule": q.rule} for q in f.quarantine_examples
                ],
            }
            for f in result.files
        ],
        "totals": {name: result.total(name) for name in COUNT_COLUMNS},
        "refused_organisations": [
            {"organisation_id": o.organisation_id, "name": o.name, "rows": o.rows}
            for o in result.refused_organisations
        ],
        "revocations_recorded": result.revocations_recorded,
    }
