"""The benchmark harness measures what it says, and its two comparators do the same work as ours.

bench/run.py compares our pipeline with a hand-written SQL floor and a per-subject eraser; the
comparison means something only if both erase exactly the subjects our plan names, with the
same tables and columns, and if a stage's memory is the whole process tree's. The incremental
attendance models are checked here too: after an erasure and a daily load they hold exactly
what a full refresh builds.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import paths
from tinytracker.core.dbt import DBT_EXECUTABLE, run_dbt
from tinytracker.loading.run import load_extract
from tinytracker.tasks import apply_retention as run_retention

from conftest import TEST_SECRET, SyntheticTemplate

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR))

from bench.daily import next_school_day, write_daily_extract  # noqa: E402
from bench.daily_split import DAY_SOURCE, dependency_split  # noqa: E402
from bench.floor import run_floor  # noqa: E402
from bench.measure import StageFailed, run_stage  # noqa: E402
from bench.per_subject import run_eraser  # noqa: E402

ALLOCATE = "import time; block = bytearray({mb} * 1024 * 1024); time.sleep(1.0)"
TOKEN_SQL = (
    "select subject_kind, organisation_id, subject_token, rule_id from audit.erasure_suppressions"
)
RAW_KEYS = {
    "pupils": "organisation_id, pupil_id",
    "pupil_contacts": "organisation_id, contact_id",
    "correspondence": "organisation_id, correspondence_id",
    "setup_imports": "organisation_id, import_id, row_number",
    "employees": "organisation_id, employee_id",
}
ATTENDANCE_MODELS = ("int_attendance_sessions_classified", "int_pupil_attendance_summarised")


def read(db: Path, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def token(kind: str, org: str, subject: str) -> str:
    return hashlib.sha256(f"{TEST_SECRET}|{kind}|{org}|{subject}".encode()).hexdigest()


def planned_tokens(db: Path) -> set[tuple]:
    """The suppression token of every subject retention.retention_plan names, and of every
    contact deleted with a planned pupil (listed under the pupil's rule so a later extract
    cannot bring the contact back)."""
    subjects = read(
        db,
        "select distinct subject_kind, organisation_id, subject_id, rule_id "
        "from retention.retention_plan",
    )
    contacts = read(
        db,
        "select distinct contacts.organisation_id, contacts.contact_id, plan.rule_id "
        "from retention.retention_plan as plan inner join raw.pupil_contacts as contacts "
        "on contacts.organisation_id = plan.organisation_id "
        "and contacts.pupil_id = plan.subject_id "
        "where plan.subject_kind = 'pupil' and (contacts.organisation_id, contacts.contact_id) "
        "not in (select (organisation_id, subject_id) from retention.retention_plan "
        "where subject_kind = 'pupil_contact')",
    )
    return {
        (kind, org, token(kind, org, subject), rule) for kind, org, subject, rule in subjects
    } | {
        ("pupil_contact", org, token("pupil_contact", org, contact), rule)
        for org, contact, rule in contacts
    }


def planned_subjects(db: Path) -> int:
    return read(
        db,
        "select count(*) from (select distinct subject_kind, organisation_id, subject_id "
        "from retention.retention_plan)",
    )[0][0]


def surviving_keys(db: Path) -> dict[str, set[tuple]]:
    """Keys of the rows no rule deleted or re-keyed: what two erasures must agree on."""
    keys = {}
    for table, columns in RAW_KEYS.items():
        kept = "" if table not in ("pupils", "employees") else " where anonymised_on is null"
        keys[table] = set(read(db, f"select {columns} from raw.{table}{kept}"))
    for table in ("attendance_sessions", "assessments", "sen_records", "reports"):
        keys[table] = {(n,) for (n,) in read(db, f"select count(*) from raw.{table}")}
    keys["anonymised"] = set(
        read(
            db,
            "select organisation_id, anonymised_by_rule_id, count(*), count(upn), "
            "count(forename) from raw.pupils where anonymised_on is not null group by all",
        )
    )
    return keys


def test_a_stage_is_measured_over_its_whole_process_tree(tmp_path: Path) -> None:
    child = ALLOCATE.format(mb=150)
    parent = (
        "import subprocess, sys, time; "
        f"kid = subprocess.Popen([sys.executable, '-c', {child!r}]); "
        f"{ALLOCATE.format(mb=100)}; kid.wait()"
    )
    result = run_stage("tree", [sys.executable, "-c", parent], log=tmp_path / "stage.log")
    assert result.returncode == 0
    assert result.wall_seconds >= 1.0
    assert result.peak_rss_mb >= 240  # parent's 100 MB + child's 150 MB, at the same time


def test_a_failing_stage_raises_and_names_its_log(tmp_path: Path) -> None:
    log = tmp_path / "stage.log"
    with pytest.raises(StageFailed, match="stage.log"):
        run_stage(
            "fails", [sys.executable, "-c", "import sys; print('boom'); sys.exit(4)"], log=log
        )
    assert "boom" in log.read_text()
    assert (
        run_stage(
            "tolerated", [sys.executable, "-c", "import sys; sys.exit(3)"], ok_returncodes=(0, 3)
        ).returncode
        == 3
    )


def test_the_floor_evaluates_every_rule_of_the_seed() -> None:
    """The floor is written by hand on purpose (it is what our pipeline is measured against),
    so a new rule must be written into it too, or the comparison below stops being like for
    like; this says so at once, without a build."""
    floor_sql = (PROJECT_DIR / "bench" / "floor.sql").read_text(encoding="utf-8")
    rules_csv = PROJECT_DIR / "seeds" / "policy" / "retention_rules.csv"
    with open(rules_csv, newline="", encoding="utf-8") as handle:
        rule_ids = [row["rule_id"] for row in csv.DictReader(handle)]
    missing = [rule_id for rule_id in rule_ids if f"'{rule_id}'" not in floor_sql]
    assert not missing, (
        f"bench/floor.sql does not evaluate {missing}: write the rule's due subjects into it "
        "by hand (docs/adding-a-rule.md, 'The benchmark floor')"
    )


def test_floor_and_per_subject_eraser_erase_exactly_the_planned_subjects(
    synthetic_template: SyntheticTemplate, tmp_path: Path
) -> None:
    # the template was built for as_of, so its retention_plan is the one our apply executes
    expected = planned_tokens(synthetic_template.db)
    subjects = planned_subjects(synthetic_template.db)
    assert subjects > 100, "the synthetic trust must have work due on as_of"
    floor_db, eraser_db = tmp_path / "floor.duckdb", tmp_path / "eraser.duckdb"
    shutil.copy(synthetic_template.db, floor_db)
    shutil.copy(synthetic_template.db, eraser_db)

    floor = run_floor(floor_db, synthetic_template.as_of, TEST_SECRET)
    eraser = run_eraser(eraser_db, sample=subjects, secret=TEST_SECRET)

    assert set(read(floor_db, TOKEN_SQL)) == expected
    assert set(read(eraser_db, TOKEN_SQL)) == expected
    assert floor["subjects"] == eraser["due_subjects"] == eraser["sample"] == subjects
    assert surviving_keys(floor_db) == surviving_keys(eraser_db)
    # the floor's file was rewritten: no rebuild or old copy is left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eraser.duckdb", "floor.duckdb"]


def test_the_row_at_a_time_eraser_does_the_same_work_one_row_at_a_time(
    synthetic_template: SyntheticTemplate, tmp_path: Path
) -> None:
    by_table_db, by_row_db = tmp_path / "by-table.duckdb", tmp_path / "by-row.duckdb"
    shutil.copy(synthetic_template.db, by_table_db)
    shutil.copy(synthetic_template.db, by_row_db)
    sample = 60  # a mix of kinds: contacts, pupils (rows in every child table), employees
    by_table = run_eraser(by_table_db, sample=sample, secret=TEST_SECRET)
    by_row = run_eraser(by_row_db, sample=sample, secret=TEST_SECRET, granularity="row")

    assert by_row["granularity"] == "row" and by_table["granularity"] == "table"
    assert by_row["rows_changed"] == by_table["rows_changed"] > sample
    assert set(read(by_row_db, TOKEN_SQL)) == set(read(by_table_db, TOKEN_SQL))
    assert surviving_keys(by_row_db) == surviving_keys(by_table_db)


def test_daily_extract_holds_only_the_next_school_day(tmp_path: Path) -> None:
    day, rows = write_daily_extract(tmp_path / "daily", pupils=70, organisations=7, years=1, seed=3)
    assert day == next_school_day(dt.date(2025, 7, 18)) == dt.date(2025, 7, 21)
    assert sorted(p.name for p in (tmp_path / "daily").iterdir()) == [
        "attendance_sessions.csv",
        "organisations.csv",
    ]
    dates = duckdb.sql(
        "select distinct session_date from read_csv("
        f"'{tmp_path / 'daily' / 'attendance_sessions.csv'}', all_varchar = true)"
    ).fetchall()
    assert dates == [("2025-07-21",)] and rows > 0


def write_corrections(db: Path, daily: Path, out: Path) -> int:
    """An extract that changes 25 present marks of an autumn term to N (unauthorised)."""
    out.mkdir()
    shutil.copy(daily / "organisations.csv", out / "organisations.csv")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"""
            copy (
                select marks.organisation_id, marks.pupil_id,
                    cast(marks.session_date as varchar) as session_date, marks.session,
                    'N' as mark
                from raw.attendance_sessions as marks
                inner join raw.pupils as pupils
                    on marks.organisation_id = pupils.organisation_id
                    and marks.pupil_id = pupils.pupil_id
                where pupils.anonymised_on is null and marks.mark = '/'
                    and month(marks.session_date) = 10
                order by all
                limit 25
            ) to '{out / "attendance_sessions.csv"}' (header, delimiter ',')
        """).fetchone()[0]
    finally:
        con.close()


def model_rows(db: Path) -> dict[str, Counter]:
    """Every row of the attendance models (but when they were written) and of the marts."""
    return {
        model: Counter(read(db, f"select * exclude (built_at) from intermediate.{model}"))
        for model in ATTENDANCE_MODELS
    } | {
        table: Counter(read(db, f"select * from marts.{table}"))
        for (table,) in read(
            db, "select table_name from duckdb_tables() where schema_name = 'marts'"
        )
    }


def test_incremental_attendance_after_erasure_new_day_and_corrections_equals_full_refresh(
    synthetic_template: SyntheticTemplate, synthetic_warehouse: Path, tmp_path: Path
) -> None:
    as_of = synthetic_template.as_of
    # an apply re-keys every anonymised pupil's marks (its dbt run is incremental), then the
    # next school day arrives and the models are built incrementally again
    result = run_retention(as_of, dry_run=False)
    assert result.subjects > 0
    write_daily_extract(tmp_path / "daily", pupils=280, organisations=7, years=2, seed=5)
    load_extract(tmp_path / "daily")
    assert run_dbt(as_of, command="run") == 0
    # and a later extract corrects marks already counted (they must be recounted, not added)
    assert write_corrections(synthetic_warehouse, tmp_path / "daily", tmp_path / "fixes") > 0
    load_extract(tmp_path / "fixes")
    assert run_dbt(as_of, command="run") == 0
    incremental = model_rows(synthetic_warehouse)

    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(synthetic_warehouse, refreshed)
    completed = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "run",
            "--full-refresh",
            "--profiles-dir",
            str(PROJECT_DIR),
            "--project-dir",
            str(PROJECT_DIR),
            "--select",
            f"{ATTENDANCE_MODELS[0]}+",
            "--vars",
            f"{{as_of: '{as_of}'}}",
        ],
        env={**os.environ, paths.DB_ENV: str(refreshed)},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert model_rows(refreshed) == incremental
    # and the anonymised pupils' old keys are gone from both models
    stale = read(
        synthetic_warehouse,
        f"""
        select count(*) from intermediate.{ATTENDANCE_MODELS[0]}
        where pupil_key not in (select pupil_key from intermediate.int_pupil_keys)""",
    )
    assert stale == [(0,)]


def test_the_daily_split_sorts_each_node_by_what_would_change_its_result() -> None:
    """The day's marks reach a node through the attendance source, the date through ``as_of``
    in its SQL or in a macro it calls (at any depth); a node downstream of both is both, and a
    test of a view that reads the date is counted among the tests that derive a view again."""
    marks, dated, joined, still = (
        f"model.tinytracker.{n}" for n in ("marks", "dated", "joined", "still")
    )
    via_macro = "model.tinytracker.via_macro"
    test_dated = "test.tinytracker.not_null_dated"

    def node(raw: str = "", macros: tuple[str, ...] = (), **extra: object) -> dict:
        return {"raw_code": raw, "depends_on": {"macros": list(macros)}, **extra}

    manifest = {
        "nodes": {
            marks: node("select * from {{ source('raw', 'attendance_sessions') }}"),
            dated: node("select {{ as_of() }} as d", config={"materialized": "view"}),
            joined: node(),
            still: node("select 1"),
            via_macro: node(macros=("macro.tinytracker.window",)),
            test_dated: node(attached_node=dated),
        },
        "child_map": {DAY_SOURCE: [marks], marks: [joined], dated: [joined, test_dated]},
        "macros": {
            "macro.tinytracker.default__as_of": {
                "package_name": "tinytracker", "macro_sql": "{{ var('as_of') }}",
                "depends_on": {"macros": []},
            },
            "macro.tinytracker.window": {
                "package_name": "tinytracker", "macro_sql": "{{ default__as_of() }} - 7",
                "depends_on": {"macros": ["macro.tinytracker.default__as_of"]},
            },
        },
    }  # fmt: skip
    run_results = {
        "results": [
            {"unique_id": uid, "execution_time": seconds}
            for uid, seconds in [
                (marks, 1.0), (dated, 2.0), (joined, 4.0), (still, 8.0), (via_macro, 16.0),
                (test_dated, 32.0),
            ]
        ]
    }  # fmt: skip
    split = dependency_split(manifest, run_results)
    classes = split["classes"]
    assert classes["the day's marks"] == {"model": {"seconds": 1.0, "nodes": 1}}
    assert classes["both"] == {"model": {"seconds": 4.0, "nodes": 1}}
    assert classes["neither"] == {"model": {"seconds": 8.0, "nodes": 1}}
    assert classes["the date"] == {
        "model": {"seconds": 18.0, "nodes": 2},
        "test": {"seconds": 32.0, "nodes": 1},
    }
    assert split["date_tests_on_views"] == {"tests": 1, "seconds": 32.0}
