"""Every mart is guarded: disclosure and lineage tests, docs, exposures, and the lineage
tests themselves fail a mart that leaks an identifier.

Runs on the session's synthetic trust (conftest.py) and the manifest of its build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb

from tinytracker.core import paths
from tinytracker.core.dbt import DBT_EXECUTABLE

from conftest import SyntheticTemplate

ORG = "ORG001"


def template_manifest(template: SyntheticTemplate) -> dict[str, object]:
    """The manifest the synthetic trust's build wrote."""
    return json.loads((template.built_target / "manifest.json").read_text())


def mart_nodes(manifest: dict[str, object]) -> dict[str, dict[str, object]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def test_every_mart_is_guarded_by_the_disclosure_and_lineage_tests(
    synthetic_template: SyntheticTemplate,
) -> None:
    manifest = template_manifest(synthetic_template)
    required = {
        "no_direct_identifier_lineage",
        "selects_only_from_intermediate",
        "no_recoverable_suppressed_cells",
        "cells_respect_min_cell_size",
        "unique_combination_of_columns",
    }
    tests_by_model: dict[str, set[str]] = {}
    # the value scans only see marts dbt builds before them: each mart must be named there
    value_scans = {"assert_marts_hold_no_identifier_patterns", "assert_marts_hold_no_pupil_keys"}
    scanned: dict[str, set[str]] = {name: set() for name in value_scans}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        if node["name"] in value_scans:
            scanned[node["name"]] = set(node["depends_on"]["nodes"])
        metadata = node.get("test_metadata") or {}
        for parent in node["depends_on"]["nodes"]:
            tests_by_model.setdefault(parent, set()).add(metadata.get("name", ""))
    marts = mart_nodes(manifest)
    assert marts, "no marts in the manifest"
    for name, node in marts.items():
        assert required <= tests_by_model.get(node["unique_id"], set()), name
        for scan, parents in scanned.items():
            assert node["unique_id"] in parents, (scan, name)
        assert node["config"]["contract"]["enforced"], name


def test_every_mart_and_intermediate_model_and_column_is_described(
    synthetic_template: SyntheticTemplate,
) -> None:
    con = duckdb.connect(str(synthetic_template.db), read_only=True)
    try:
        built_columns = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name in ('marts', 'intermediate')"
        ).fetchall()
    finally:
        con.close()
    nodes = {
        node["name"]: node
        for node in template_manifest(synthetic_template)["nodes"].values()
        if node["resource_type"] == "model"
    }
    for table, column in built_columns:
        node = nodes[table]
        assert node["description"].strip(), table
        assert node["columns"].get(column, {}).get("description", "").strip(), (table, column)


def test_exposures_name_the_dashboards_and_read_only_marts(
    synthetic_template: SyntheticTemplate,
) -> None:
    manifest = template_manifest(synthetic_template)
    exposures = manifest["exposures"].values()
    marts = {node["unique_id"] for node in mart_nodes(manifest).values()}
    assert {e["name"] for e in exposures} >= {"attendance_dashboard", "attainment_dashboard"}
    for exposure in exposures:
        assert exposure["owner"]["name"]
        assert set(exposure["depends_on"]["nodes"]) <= marts


def lineage_failures(db: Path, mart: str) -> list[tuple[str, str]]:
    """The rows dbt stored (--store-failures) for a mart's no_direct_identifier_lineage."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        ((schema, table),) = con.execute(
            "select table_schema, table_name from information_schema.tables where table_name = ?",
            [f"no_direct_identifier_lineage_{mart}_"],
        ).fetchall()
        return sorted(con.execute(f'select * from "{schema}"."{table}"').fetchall())
    finally:
        con.close()


def test_lineage_test_fails_a_mart_that_exposes_an_identifier(
    synthetic_template: SyntheticTemplate, tmp_path: Path
) -> None:
    """A copy of the project with leaking marts: a renamed postcode, a pupil key renamed to a
    "cohort code", the MIS pupil id, a lower-cased UPN and staff ids, read from staging
    directly. The lineage tests and the value scans must fail them, each identifier by its
    kind (the real marts pass the same tests in the synthetic trust's build)."""
    project = tmp_path / "project"
    for part in (
        "macros",
        "seeds",
        "models/staging",
        "models/intermediate",
        "models/marts",
        "tests/marts",
        "tests/fixtures",
    ):
        shutil.copytree(paths.PROJECT_DIR / part, project / part)
    for name in ("dbt_project.yml", "profiles.yml", "models/_groups.yml"):
        shutil.copy(paths.PROJECT_DIR / name, project / name)
    (project / "models/marts/fct_leak.sql").write_text(
        "select pupils.postcode as postcode_district, keys.pupil_key as cohort_code,\n"
        "    pupils.pupil_id as pupil_reference, lower(pupils.upn) as learner_code,\n"
        "    count(*) as pupil_count\n"
        "from {{ ref('stg_pupils') }} as pupils\n"
        "inner join {{ ref('int_pupil_keys') }} as keys on pupils.pupil_id = keys.pupil_id\n"
        "group by all\n"
        "union all\n"
        "select null, null, employees.employee_id, employees.teacher_number, 1\n"
        "from {{ ref('stg_employees') }} as employees\n"
    )
    (project / "models/marts/_leak.yml").write_text(
        "version: 2\nmodels:\n  - name: fct_leak\n    data_tests:\n"
        "      - no_direct_identifier_lineage\n      - selects_only_from_intermediate\n"
    )
    # a UPN renamed twice on its way to a mart, each step declaring its lineage in YAML:
    # the test must follow it through both models (a pass per level) back to the UPN
    (project / "models/intermediate/int_leak_learners.sql").write_text(
        "select organisation_id, upn as learner_code from {{ ref('stg_pupils') }}\n"
    )
    (project / "models/intermediate/int_leak_cohorts.sql").write_text(
        "select organisation_id, learner_code as cohort_label\n"
        "from {{ ref('int_leak_learners') }}\n"
    )
    (project / "models/intermediate/_leak.yml").write_text(
        "version: 2\nmodels:\n"
        "  - name: int_leak_learners\n    columns:\n      - name: learner_code\n"
        "        config: {meta: {lineage: [stg_pupils.upn]}}\n"
        "  - name: int_leak_cohorts\n    columns:\n      - name: cohort_label\n"
        "        config: {meta: {lineage: [int_leak_learners.learner_code]}}\n"
    )
    (project / "models/marts/fct_leak_chain.sql").write_text(
        "select organisation_id, cohort_label, count(*) as pupil_count\n"
        "from {{ ref('int_leak_cohorts') }} group by all\n"
    )
    (project / "models/marts/_leak_chain.yml").write_text(
        "version: 2\nmodels:\n  - name: fct_leak_chain\n    data_tests:\n"
        "      - no_direct_identifier_lineage\n"
    )
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_template.db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "insert into raw.employees (organisation_id, employee_id, forename, surname, "
            "role, teaching_status, teacher_number, start_date) values "
            "(?, 'E0042', 'Ann', 'Teacher', 'Class teacher', 'qualified_teacher', "
            "'1234567', date '2019-09-01')",
            [ORG],
        )
    finally:
        con.close()

    def dbt(*args: str) -> str:
        completed = subprocess.run(
            [
                str(DBT_EXECUTABLE),
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ],
            env={**os.environ, paths.DB_ENV: str(db)},
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.stdout

    leak_build = dbt(
        "build",
        "--select",
        "fct_leak",
        "int_leak_learners",
        "int_leak_cohorts",
        "fct_leak_chain",
        "--store-failures",
    )
    assert re.search(r"FAIL \d+ no_direct_identifier_lineage_fct_leak_ ", leak_build)
    assert re.search(r"FAIL 1 no_direct_identifier_lineage_fct_leak_chain", leak_build)
    assert lineage_failures(db, "fct_leak_chain") == [("cohort_label", "stg_pupils.upn")]
    assert re.search(r"FAIL 2 selects_only_from_intermediate_fct_leak", leak_build)
    value_scans = dbt(
        "test",
        "--select",
        "assert_marts_hold_no_pupil_keys",
        "assert_marts_hold_no_identifier_patterns",
        "--store-failures",
    )
    assert re.search(r"FAIL \d+ assert_marts_hold_no_pupil_keys", value_scans)
    assert re.search(r"FAIL \d+ assert_marts_hold_no_identifier_patterns", value_scans)
    con = duckdb.connect(str(db), read_only=True)
    try:
        kinds = {
            row
            for row in con.execute(
                "select column_name, identifier_kind "
                "from dbt_test__audit.assert_marts_hold_no_pupil_keys"
            ).fetchall()
        }
        patterns = {
            row
            for row in con.execute(
                "select column_name, pattern "
                "from dbt_test__audit.assert_marts_hold_no_identifier_patterns"
            ).fetchall()
        }
    finally:
        con.close()
    assert {
        ("cohort_code", "pupil_key"),
        ("pupil_reference", "pupil_id"),
        ("pupil_reference", "employee_id"),
        ("learner_code", "teacher_number"),
    } <= kinds
    assert {("postcode_district", "postcode"), ("learner_code", "upn")} <= patterns
