"""The per-subject eraser: how tools that execute one privacy request at a time do the work.

    python bench/per_subject.py WAREHOUSE.duckdb --sample 200 --json eraser.json

For each subject in a sample of the due subjects (retention.retention_plan, as our `retention
plan` stage built it), it does what a request-at-a-time eraser does: for every table the
policy mapping (retention.retention_actions) names for the subject's rule, one query to find
the subject's rows by key, then one statement to delete or anonymise them; then the
suppression token; then COMMIT, and on to the next subject. Same tables, same columns, same
surrogate and token rules as our apply; only the shape of the work differs (one subject per
transaction, every table scanned per subject: the warehouse has no index on a pupil id, and
an eraser cannot add one to every table it visits).

With ``--granularity row`` each table step is done the way request-at-a-time tools built on a
generic SQL connector do it (Fides' SQL connector, for one: a retrieval query per table for the
subject's rows, then one UPDATE per retrieved row, addressed by that row's primary key): one
query for the subject's rows' keys, then one statement per row. The default (``table``) does
one set-based statement per table and subject, the kindest shape an eraser can have.

With ``--layout by-day`` the attendance marks are first rewritten in date order (not timed):
the layout a warehouse grown by daily extracts has, where one pupil's marks are spread over
every row group. The default keeps the layout of one big extract loaded at once (clustered by
organisation and pupil), where DuckDB's zone maps skip most row groups for one pupil: the
eraser's best case.

The time per subject is the mean over the sample (timed inside the process, so interpreter
start-up is not charged to it); the whole run is extrapolated as that mean times the number of
due subjects. It is charged nothing for a physical-erasure rewrite or for refreshing derived
tables, both of which our apply does: the comparison favours the eraser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tinytracker.core.contract import LANDING_FILES

SECRET_ENV = "TINYTRACKER_SECRET"
PLAN = "retention.retention_plan"
ACTIONS = "retention.retention_actions"
ANONYMISED_TABLES = {"raw.pupils", "raw.employees"}
# How a row-at-a-time eraser addresses one row: the landing contract's key of each raw table,
# and for the quarantine (no natural key) the load, file, line and rule that identify a row.
ROW_KEYS = {f"raw.{landing.name}": landing.key for landing in LANDING_FILES} | {
    "raw.quarantine": ("load_id", "file_name", "line_number", "rule"),
}


def key_sql(key_column: str) -> str:
    """A column, or ``json_column.member`` for a JSON member (the quarantine's raw values)."""
    if "." in key_column:
        column, member = key_column.split(".", 1)
        return f"trim(json_extract_string({column}, '$.{member}'))"
    return key_column


def _statement_per_row(
    con: duckdb.DuckDBPyConnection,
    table: str,
    where: str,
    subject_parameters: list[object],
    statement: str,
    parameters: list[object],
) -> None:
    """Find the subject's rows' keys, then run ``statement`` once per row, keyed by them.

    ``statement`` is ``delete from TABLE`` or ``update TABLE set ...`` without a where clause.
    """
    key = ROW_KEYS[table]
    rows = con.execute(
        f"select {', '.join(key)} from {table} where {where}", subject_parameters
    ).fetchall()
    by_key = " and ".join(f"{column} = ?" for column in key)
    for row in rows:
        con.execute(f"{statement} where {by_key}", [*parameters, *row])


def erase_subject(
    con: duckdb.DuckDBPyConnection,
    subject: tuple[str, str, str, str],
    steps: list[tuple],
    as_of: dt.date,
    run_id: str,
    granularity: str = "table",
) -> int:
    """Erase one subject in its own transaction; returns the rows changed.

    ``granularity`` ``table``: one statement per table; ``row``: one statement per row.
    """
    organisation_id, subject_kind, subject_id, rule_id = subject
    surrogate = str(uuid.uuid4())
    changed = 0
    anonymised = kept_name = False
    con.execute("begin transaction")
    try:
        if subject_kind == "pupil":
            # the contacts deleted with the pupil go on the list too, as the engine's do
            # (not one that is a subject of its own in this plan: it is listed under its rule)
            con.execute(
                f"""
                insert into audit.erasure_suppressions
                select 'pupil_contact', organisation_id, sha256(getvariable('tt_secret')
                    || '|pupil_contact|' || organisation_id || '|' || contact_id),
                    null, ?, ?, ?
                from raw.pupil_contacts
                where organisation_id = ? and pupil_id = ?
                    and (organisation_id, contact_id) not in (
                        select (organisation_id, subject_id) from {PLAN}
                        where subject_kind = 'pupil_contact')
                """,
                [rule_id, as_of, run_id, organisation_id, subject_id],
            )
        for table, key_column, operation, rekey_column, clear, clear_unless_author in steps:
            where = f"organisation_id = ? and {key_sql(key_column)} = ?"
            found = con.execute(
                f"select count(*) from {table} where {where}", [organisation_id, subject_id]
            ).fetchone()[0]
            if not found:
                continue
            if operation == "delete":
                if granularity == "row":
                    _statement_per_row(
                        con, table, where, [organisation_id, subject_id], f"delete from {table}", []
                    )
                else:
                    con.execute(f"delete from {table} where {where}", [organisation_id, subject_id])
                changed += found
                continue
            anonymised = True
            columns = [c for c in (clear or "").split(",") if c]
            if clear_unless_author:
                is_author = con.execute(
                    "select count(*) from raw.reports where organisation_id = ? "
                    "and author_employee_id = ?",
                    [organisation_id, subject_id],
                ).fetchone()[0]
                kept_name = bool(is_author)
                if not is_author:
                    columns += [c for c in clear_unless_author.split(",") if c]
            assignments = [f"{column} = null" for column in columns]
            parameters: list[object] = []
            if rekey_column:
                assignments.append(f"{rekey_column} = ?")
                parameters.append(surrogate)
            if table in ANONYMISED_TABLES:
                assignments += ["anonymised_on = ?", "anonymised_by_rule_id = ?"]
                parameters += [as_of, rule_id]
            if granularity == "row":
                _statement_per_row(
                    con,
                    table,
                    where,
                    [organisation_id, subject_id],
                    f"update {table} set {', '.join(assignments)}",
                    parameters,
                )
            else:
                con.execute(
                    f"update {table} set {', '.join(assignments)} where {where}",
                    [*parameters, organisation_id, subject_id],
                )
            changed += found
        # the list never leads to an anonymised record (only a kept-name author's map is
        # kept); a deleted subject gets a random id nothing kept carries
        listed = str(uuid.uuid4()) if not anonymised else surrogate if kept_name else None
        con.execute(
            "insert into audit.erasure_suppressions values (?, ?, sha256(getvariable('tt_secret')"
            " || '|' || ? || '|' || ? || '|' || ?), ?, ?, ?, ?)",
            [
                subject_kind,
                organisation_id,
                subject_kind,
                organisation_id,
                subject_id,
                listed,
                rule_id,
                as_of,
                run_id,
            ],
        )
        con.execute(
            "update audit.legal_holds set subject_id = ? where organisation_id = ? "
            "and subject_kind = ? and subject_id = ?",
            [surrogate, organisation_id, subject_kind, subject_id],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return changed


def cluster_by_day(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite raw.attendance_sessions in date order, as a year of daily loads would leave it."""
    con.execute(
        "create table raw.attendance_by_day as "
        "select * from raw.attendance_sessions order by session_date, organisation_id"
    )
    con.execute("drop table raw.attendance_sessions")
    con.execute("alter table raw.attendance_by_day rename to attendance_sessions")
    con.execute("checkpoint")


def run_eraser(
    db: Path,
    sample: int,
    secret: str,
    seed: int = 7,
    layout: str = "as-loaded",
    granularity: str = "table",
) -> dict[str, object]:
    """Erase ``sample`` due subjects one at a time; returns timings and the extrapolation."""
    con = duckdb.connect(str(db))
    try:
        if layout == "by-day":
            cluster_by_day(con)
        con.execute("set variable tt_secret = ?", [secret])
        as_of, due = con.execute(
            f"select min(as_of), count(distinct (organisation_id, subject_kind, subject_id)) "
            f"from {PLAN}"
        ).fetchone()
        subjects = con.execute(
            f"""
            select distinct organisation_id, subject_kind, subject_id, rule_id
            from {PLAN}
            order by hash(organisation_id, subject_kind, subject_id, {int(seed)}),
                organisation_id, subject_id
            limit {int(sample)}
            """
        ).fetchall()
        steps_by_rule: dict[str, list[tuple]] = {}
        for rule_id, *step in con.execute(
            f"""
            select rule_id, table_name, key_column, operation, nullif(rekey_column, ''),
                nullif(columns_to_clear, ''), nullif(columns_to_clear_unless_report_author, '')
            from {ACTIONS}
            order by rule_id, step
            """
        ).fetchall():
            steps_by_rule.setdefault(rule_id, []).append(tuple(step))
        run_id = str(uuid.uuid4())
        seconds: list[float] = []
        by_kind: dict[str, list[float]] = {}
        rows = 0
        for subject in subjects:
            started = time.perf_counter()
            rows += erase_subject(
                con, subject, steps_by_rule[subject[3]], as_of, run_id, granularity
            )
            elapsed = time.perf_counter() - started
            seconds.append(elapsed)
            by_kind.setdefault(subject[1], []).append(elapsed)
    finally:
        con.close()
    mean = statistics.fmean(seconds) if seconds else 0.0
    return {
        "run_id": run_id,
        "layout": layout,
        "granularity": granularity,
        "as_of": as_of.isoformat() if as_of else None,
        "due_subjects": int(due or 0),
        "sample": len(seconds),
        "rows_changed": rows,
        "seconds_per_subject": mean,
        "median_seconds_per_subject": statistics.median(seconds) if seconds else 0.0,
        "sample_seconds": sum(seconds),
        "extrapolated_seconds": mean * int(due or 0),
        "seconds_per_subject_by_kind": {
            kind: {"subjects": len(values), "mean": statistics.fmean(values)}
            for kind, values in sorted(by_kind.items())
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="warehouse with retention.retention_plan built")
    parser.add_argument("--sample", type=int, default=200, help="subjects to erase (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--layout",
        choices=("as-loaded", "by-day"),
        default="as-loaded",
        help="attendance rows as loaded (default) or rewritten in date order",
    )
    parser.add_argument(
        "--granularity",
        choices=("table", "row"),
        default="table",
        help="one statement per table and subject (default) or per row, "
        "addressed by its key, as generic SQL-connector erasers do",
    )
    parser.add_argument("--json", type=Path, help="write the result here as JSON")
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        print(f"per_subject: set {SECRET_ENV} (at least 16 characters)", file=sys.stderr)
        return 2
    result = run_eraser(args.db, args.sample, secret, args.seed, args.layout, args.granularity)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
