"""`tinytracker report --html`, the record of processing and the nightly report asset.

On the session's synthetic trust, built for 2025-10-01 (conftest). The browser checks of the
page itself are in test_dpo_report_browser.py.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tinytracker.cli.main import main
from tinytracker.core.dbt import run_dbt
from tinytracker.core.errors import TinyTrackerError
from tinytracker.reporting import data as report_data
from tinytracker.reporting.page import SECTIONS

from dagster_helpers import ensure_dbt_manifest

AS_OF = "2025-10-01"
COVERAGE_TEST = "record_of_processing_covers_every_personal_data_column"


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_plain_report_still_prints_the_text_summary(synthetic_warehouse: Path, capsys):
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "Landing tables (schema raw):" in out and "Where to look:" in out


def test_html_report_writes_the_page_and_the_record_of_processing(
    synthetic_warehouse: Path, tmp_path: Path, capsys
):
    out = tmp_path / "dpo"
    assert main(["report", "--html", "--out", str(out), "--as-of", AS_OF]) == 0
    assert f"on {AS_OF}" in capsys.readouterr().out
    page = (out / "report.html").read_text(encoding="utf-8")
    for key, _ in SECTIONS:
        assert f"<section id='{key}'>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    activities = query(synthetic_warehouse, "select activity_id from reporting.ropa_activities")
    with open(out / "ropa.csv", newline="", encoding="utf-8") as handle:
        record = list(csv.DictReader(handle))
    assert sorted(r["activity_id"] for r in record) == sorted(a for (a,) in activities)
    assert {"purposes", "recipients", "retention", "transfers", "personal_data_columns"} <= set(
        record[0]
    )
    pupils = next(r for r in record if r["activity_id"] == "pupil_tracking")
    assert "raw.pupils (direct_identifier: address" in pupils["personal_data_columns"]
    assert "left_pupils_2_academic_years" in pupils["retention"]
    assert "TR001" in pupils["recipients"]  # the academy trust, with its consenting members
    markdown = (out / "ropa.md").read_text(encoding="utf-8")
    assert markdown.count("\n## ") == len(record) + 1  # one per activity, then the measures


def test_html_report_refuses_a_date_the_models_are_not_built_for(
    synthetic_warehouse: Path, tmp_path: Path, capsys
):
    assert main(["report", "--html", "--out", str(tmp_path), "--as-of", "2025-10-02"]) == 2
    assert "built for 2025-10-01, not 2025-10-02" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()
    assert main(["report", "--out", str(tmp_path)]) == 2  # --out without --html
    assert main(["report", "--html"]) == 2  # --html without --out


def test_one_organisations_page_counts_only_that_organisation(
    synthetic_warehouse: Path, tmp_path: Path
):
    from tinytracker.reporting.html_report import write_html_report

    result = write_html_report(tmp_path, organisation_id="ORG001")
    (pupils,) = query(
        synthetic_warehouse,
        "select count(*) from raw.pupils where organisation_id = 'ORG001' "
        "and anonymised_on is null",
    )[0]
    assert result.headlines["identified_pupils"] == pupils
    page = result.page.read_text(encoding="utf-8")
    assert "ORG001" in page and "ORG002" not in page
    with pytest.raises(TinyTrackerError, match="unknown organisation 'ORG999'"):
        write_html_report(tmp_path, organisation_id="ORG999")


def test_statuses_built_for_another_date_stop_the_page():
    """A retention run for another date rebuilds retention_status but not the reporting
    models: the page would mix two days, so it is refused with what to do."""
    con = duckdb.connect()
    con.execute("create schema reporting; create schema retention")
    con.execute(
        "create table reporting.rpt_dpo_evaluation as select date '2025-10-01' as as_of, "
        "date '2025-10-02' as forecast_starts_on, date '2026-09-30' as forecast_ends_on, "
        "date '2023-11-01' as history_starts_on"
    )
    con.execute("create table retention.retention_status as select date '2025-11-01' as as_of")
    with pytest.raises(TinyTrackerError, match="built for 2025-11-01 but the reporting models"):
        report_data.evaluation(con)
    con.execute("update retention.retention_status set as_of = date '2025-10-01'")
    assert report_data.evaluation(con).as_of == dt.date(2025, 10, 1)


def test_every_data_test_is_recorded_with_what_it_guards(synthetic_warehouse: Path):
    rows = query(
        synthetic_warehouse,
        "select test_name, test_kind, guarded_relation, guarded_column, what_it_guards, status "
        "from reporting.rpt_dpo_checks",
    )
    checks = {name: rest for name, *rest in rows}
    kind, relation, column, guards, status = checks["overdue_personal_data"]
    assert (kind, relation) == ("singular", "retention.retention_status")
    assert guards.startswith("before the first retention run, lists every subject")
    assert status == "warn"  # nothing has run retention on this trust yet
    kind, relation, column, guards, status = checks["not_null_retention_status_organisation_id"]
    assert (kind, relation, column, status) == (
        "not_null",
        "retention.retention_status",
        "organisation_id",
        "pass",
    )
    assert guards == "The customer organisation the subject belongs to."
    assert checks[COVERAGE_TEST][4] == "pass"


def test_a_column_added_without_a_class_fails_the_record_of_processing_test(
    synthetic_warehouse: Path,
):
    with duckdb.connect(str(synthetic_warehouse)) as con:
        con.execute("alter table raw.pupils add column nickname varchar")
    assert run_dbt(AS_OF, [COVERAGE_TEST], command="test") != 0
    ((status, failures),) = query(
        synthetic_warehouse,
        "select status, failures from reporting.dbt_test_results where test_name = ? "
        "order by executed_at desc limit 1",
        [COVERAGE_TEST],
    )
    assert (status, failures) == ("fail", 1)


def test_the_report_job_writes_the_page_beside_the_backups(synthetic_warehouse: Path):
    ensure_dbt_manifest()
    from orchestration.definitions import defs

    job = defs.resolve_job_def("write_dpo_report")
    result = job.execute_in_process(
        run_config={"ops": {"dpo_report": {"config": {"as_of": AS_OF}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    folder = synthetic_warehouse.parent / "reports" / AS_OF
    assert {p.name for p in folder.iterdir()} == {"report.html", "ropa.csv", "ropa.md"}
    (materialization,) = result.asset_materializations_for_node("dpo_report")
    metadata = materialization.metadata
    assert metadata["page"].value == str(folder / "report.html")
    assert metadata["headline.overdue_subjects"].value > 0  # no retention run yet
