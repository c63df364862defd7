"""Fixtures and readers for test_retention_build.py: the worked examples built with dbt for two
dates, and the same examples loaded as an extract. Kept apart so the test module reads as the
list of promises it checks."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.core import paths, secret, warehouse
from tinytracker.core.dbt import run_dbt_build

from conftest import TEST_SECRET
from worked_examples import HOLDS, load_worked_examples, write_extract

FIRST_AS_OF = dt.date(2025, 10, 1)
SECOND_AS_OF = dt.date(2026, 10, 1)
# seeds, staging, the retention models and their tests: not the analytic marts, which are
# not what these examples are about
RETENTION_SELECTION = [
    "path:seeds",
    "path:models/staging",
    "+path:models/retention",
    "+path:tests/retention",
]

Key = tuple[str, str, str]  # organisation_id, subject_id, rule_id


def read_statuses(db: Path) -> dict[Key, dict[str, object]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql("select * from retention.retention_status").to_dicts()
    finally:
        con.close()
    return {(r["organisation_id"], r["subject_id"], r["rule_id"]): r for r in rows}


def read_relation(db: Path, relation: str) -> list[dict[str, object]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(f"select * from {relation}").to_dicts()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Worked examples built for both dates; the first build's results are kept aside."""
    root = tmp_path_factory.mktemp("retention_build")
    db = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(paths.DB_ENV, str(db))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.setenv("DBT_LOG_PATH", str(root / "logs"))
        con = warehouse.connect()
        load_worked_examples(con)
        con.close()
        first_exit = run_dbt_build(FIRST_AS_OF, RETENTION_SELECTION)
        first = {
            "statuses": read_statuses(db),
            "plan": read_relation(db, "retention.retention_plan"),
            "summary": read_relation(db, "retention.rpt_retention_summary"),
            "forecast": read_relation(db, "retention.rpt_retention_forecast"),
        }
        first_db = root / "first_build.duckdb"
        shutil.copy(db, first_db)
        second_exit = run_dbt_build(SECOND_AS_OF, RETENTION_SELECTION)
        yield {
            "first_db": first_db,
            "first_exit": first_exit,
            "second_exit": second_exit,
            "first": first,
            "second": {"statuses": read_statuses(db)},
        }


@pytest.fixture(scope="module")
def statuses(built) -> dict[Key, dict[str, object]]:
    return built["first"]["statuses"]


@pytest.fixture(scope="module")
def plan(built) -> list[dict[str, object]]:
    return built["first"]["plan"]


def status_of(statuses, organisation_id: str, subject_id: str, rule_id: str) -> tuple:
    row = statuses[(organisation_id, subject_id, rule_id)]
    return row["status"], row["due_on"]


def planned(plan, subject_id: str) -> dict[str, dict[str, object]]:
    return {row["table_name"]: row for row in plan if row["subject_id"] == subject_id}


D = dt.date.fromisoformat
LEFT = "left_pupils_2_academic_years"
CONTRACT = "pupils_2y_after_contract"
CONTACTS = "contacts_6m_after_removal"
EMPLOYEES = "employees_1m_after_leaving"


def copy_of(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the warehouse as the first build (2025-10-01) left it."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built["first_db"], db)
    monkeypatch.setenv(paths.DB_ENV, str(db))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    return db


def log_run(
    run_id: str, as_of: str, *, is_dry_run: bool = False, requested_by: str | None = None
) -> None:
    """One finished step of a retention run in audit.retention_log."""
    con = warehouse.connect()
    con.execute(
        "insert into audit.retention_log (run_id, as_of, rule_id, table_name, action, "
        "rows_affected, is_dry_run, started_at, finished_at, requested_by) values (?, ?, "
        "'contacts_6m_after_removal', 'raw.pupil_contacts', 'delete', 0, ?, "
        "timestamp '2025-09-20 02:00', timestamp '2025-09-20 02:01', ?)",
        [run_id, D(as_of), is_dry_run, requested_by],
    )
    con.close()


OVERDUE_TESTS = ["overdue_personal_data", "overdue_personal_data_after_retention_run"]


def overdue_results(tmp_path: Path) -> dict[str, tuple[str, int]]:
    """(status, rows listed) of the two overdue tests in the last dbt run."""
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"])
        for r in results
        if r["unique_id"].split(".")[2] in OVERDUE_TESTS
    }


RETENTION_MADE = {"S-PUPIL-1", "S-CONTACT-1", "S-CONTACT-2"}
"""Subjects only a retention run or erasure makes: never in an extract."""


@pytest.fixture(scope="module")
def loaded_and_built(tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, object]]:
    """The examples as an extract: `tinytracker load`, `hold add`, `build --as-of 2025-10-01`."""
    root = tmp_path_factory.mktemp("retention_extract")
    extract = write_extract(root / "extract")
    db = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(paths.DB_ENV, str(db))
        env.setenv(secret.SECRET_ENV, TEST_SECRET)
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.setenv("DBT_LOG_PATH", str(root / "logs"))
        assert main(["load", str(extract)]) == 0
        for hold in HOLDS:
            subject = (
                []
                if hold["subject_id"] is None
                else [f"--{hold['subject_kind']}", hold["subject_id"]]
            )
            assert (
                main(
                    [
                        "hold",
                        "add",
                        "--organisation",
                        hold["organisation_id"],
                        *subject,
                        "--reason",
                        hold["reason"],
                        "--by",
                        "dpo",
                    ]
                )
                == 0
            )
        assert main(["build", "--as-of", "2025-10-01", "--select", *RETENTION_SELECTION]) == 0
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("select count(*) from raw.quarantine").fetchone() == (0,)
        finally:
            con.close()
    return read_statuses(db)
