"""The analytic marts on a hand-made school: what analysts may rely on, and erasure.

One warehouse per module: twelve year 6 pupils at one school, built with dbt (staging,
intermediate, marts and their tests), then one pupil is anonymised the way the retention run
does it (identifiers cleared, MIS id replaced by a random surrogate, child rows re-keyed) and
the warehouse is built again. The dbt unit tests beside the models check the arithmetic on
hand-made rows; these tests check the whole chain and the guarantees around it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tinytracker import tasks
from tinytracker.core import paths, schema, warehouse
from tinytracker.core.dbt import DBT_EXECUTABLE, run_dbt_build
from tinytracker.erasure.cohort import record_birth_cohorts
from tinytracker.publishing.publish import analytics_db_path, publish_marts

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate

MARTS_SELECTION = [
    "path:seeds/reference",
    "path:models/staging",
    "path:models/intermediate",
    "path:models/marts",
    "path:tests/marts",
]
ORG = "ORG1"
PUPILS = [f"P{i:02d}" for i in range(1, 13)]
ANONYMISED = "P01"
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
SCHOOL_DAYS = [
    dt.date(2024, 9, 2) + dt.timedelta(days=d)
    for d in range(12)
    if (dt.date(2024, 9, 2) + dt.timedelta(days=d)).weekday() < 5
]


def upn(serial: int) -> str:
    """A valid UPN (check letter per spec/school-data.md) for school 8012000, issued 2015."""
    digits = f"8012000015{serial:02d}"[:12].ljust(12, "0")
    total = sum(position * int(char) for position, char in enumerate(digits, start=2))
    return UPN_LETTERS[total % 23] + digits


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]) -> None:
    columns = list(rows[0])
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f"insert into raw.{table} ({', '.join(columns)}) values ({placeholders})",
        [[row[c] for c in columns] for row in rows],
    )


def load_school(con: duckdb.DuckDBPyConnection) -> None:
    """Twelve year 6 pupils: five FSM, four Asian; P01 at exactly 10% absence (2 of 20
    sessions ill) and working below the KS2 maths test (code B, no scaled score)."""
    schema.ensure_schema(con)
    insert(
        con,
        "organisations",
        [
            {
                "organisation_id": ORG,
                "name": "Oak Primary",
                "organisation_type": "school",
                "contract_start": dt.date(2020, 9, 1),
                "mis_permission": "granted",
                "share_with_trust": False,
            }
        ],
    )
    insert(
        con,
        "pupils",
        [
            {
                "organisation_id": ORG,
                "pupil_id": pupil,
                "upn": upn(i),
                "forename": f"Child{i}",
                "surname": "Example",
                "date_of_birth": dt.date(2013, 10, i),
                "gender": "FM"[i % 2],
                "address": f"{i} High Street",
                "postcode": "AB1 2CD",
                "email": f"child{i}@oak.example.org",
                "phone": None,
                "ethnicity": "WBRI" if i <= 8 else "APKN",
                "first_language": "ENG" if i <= 8 else "URD",
                "fsm_eligible": i <= 5,
                "sen_provision": "K" if i == 5 else "N",
                "year_group": "6",
                "admission_date": dt.date(2018, 9, 3),
                "leaving_date": None,
            }
            for i, pupil in enumerate(PUPILS, start=1)
        ],
    )
    sessions = []
    for pupil in PUPILS:
        for day in SCHOOL_DAYS:
            for session in ("AM", "PM"):
                ill = pupil == "P01" and day == SCHOOL_DAYS[0]
                mark = "I" if ill else ("/" if session == "AM" else "\\")
                sessions.append(
                    {
                        "organisation_id": ORG,
                        "pupil_id": pupil,
                        "session_date": day,
                        "session": session,
                        "mark": mark,
                    }
                )
    # A code of the older set, before 19 August 2024: a holiday authorised by the school.
    sessions.append(
        {
            "organisation_id": ORG,
            "pupil_id": "P02",
            "session_date": dt.date(2024, 7, 1),
            "session": "AM",
            "mark": "H",
        }
    )
    insert(con, "attendance_sessions", sessions)
    results = []
    for i, pupil in enumerate(PUPILS, start=1):
        results.append(
            {
                "organisation_id": ORG,
                "pupil_id": pupil,
                "academic_year": "2022/23",
                "assessment": "MTC",
                "result": str(10 + i),
                "assessed_on": dt.date(2023, 6, 7),
            }
        )
        results.append(
            {
                "organisation_id": ORG,
                "pupil_id": pupil,
                "academic_year": "2024/25",
                "assessment": "KS2_READ",
                "result": str(95 + i),
                "assessed_on": dt.date(2025, 5, 13),
            }
        )
        # P01 works below the maths test (code B): FSM has 5 pupils but only 4 scores
        results.append(
            {
                "organisation_id": ORG,
                "pupil_id": pupil,
                "academic_year": "2024/25",
                "assessment": "KS2_MATHS",
                "result": "B" if i == 1 else str(90 + i),
                "assessed_on": dt.date(2025, 5, 14),
            }
        )
    insert(con, "assessments", results)
    insert(
        con,
        "sen_records",
        [
            {
                "organisation_id": ORG,
                "pupil_id": "P05",
                "provision": "K",
                "primary_need": "SLCN",
                "start_date": dt.date(2023, 9, 4),
                "end_date": None,
                "notes": "Speech therapy",
            }
        ],
    )
    record_birth_cohorts(con)  # as the loader does for every pupil it lands


def anonymise(con: duckdb.DuckDBPyConnection, pupil_id: str) -> str:
    """What a retention run does to a pupil (spec/retention-rules.md): identifiers cleared,
    the MIS id replaced by a random surrogate, child rows re-keyed to it."""
    surrogate = f"anon-{uuid.uuid4().hex}"
    con.execute(
        """update raw.pupils set pupil_id = ?, upn = null, forename = null, surname = null,
               date_of_birth = null, address = null, postcode = null, email = null,
               phone = null, anonymised_on = date '2026-09-01',
               anonymised_by_rule_id = 'left_pupils_2_academic_years'
           where organisation_id = ? and pupil_id = ?""",
        [surrogate, ORG, pupil_id],
    )
    for table in ("attendance_sessions", "assessments", "sen_records"):
        con.execute(
            f"update raw.{table} set pupil_id = ? where organisation_id = ? and pupil_id = ?",
            [surrogate, ORG, pupil_id],
        )
    return surrogate


def read_tables(db: Path, schema: str) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?", [schema]
            ).fetchall()
        ]
        return {
            t: sorted(con.execute(f"select * from {schema}.{t}").fetchall(), key=repr)
            for t in tables
        }
    finally:
        con.close()


def read_keys(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(
            con.execute("select pupil_id, pupil_key from intermediate.int_pupil_keys").fetchall()
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("marts_build")
    db = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(paths.DB_ENV, str(db))
        env.setenv("DBT_TARGET_PATH", str(root / "target"))
        env.setenv("DBT_LOG_PATH", str(root / "logs"))
        # only tests whose every parent is selected: not the retention tests on stg_ models
        env.setenv("DBT_INDIRECT_SELECTION", "cautious")
        con = warehouse.connect()
        load_school(con)
        con.close()
        first_exit = run_dbt_build(None, MARTS_SELECTION)
        before = {"marts": read_tables(db, "marts"), "keys": read_keys(db)}
        con = warehouse.connect()
        surrogate = anonymise(con, ANONYMISED)
        con.close()
        second_exit = run_dbt_build(None, MARTS_SELECTION)
        yield {
            "root": root,
            "db": db,
            "first_exit": first_exit,
            "second_exit": second_exit,
            "before": before,
            "surrogate": surrogate,
            "keys": read_keys(db),
            "manifest": json.loads((root / "target" / "manifest.json").read_text()),
        }


def mart_row(db: Path, sql: str, params: list[object]) -> tuple[object, ...]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


def test_marts_build_with_their_unit_and_data_tests(built: dict[str, object]) -> None:
    assert built["first_exit"] == 0
    assert built["second_exit"] == 0


def test_a_pupil_at_exactly_ten_percent_absence_counts_as_persistently_absent(
    built: dict[str, object],
) -> None:
    row = mart_row(
        built["db"],
        """select pupil_count, attendance_rate, authorised_absence_rate, overall_absence_rate,
                  persistent_absence_rate, is_suppressed
           from marts.fct_attendance_by_group
           where organisation_id = ? and academic_year = '2024/25' and term = 'autumn'
             and key_stage = 'all' and group_type = 'all'""",
        [ORG],
    )
    # 2 absent sessions of 240: 0.8%; 1 pupil of 12 persistently absent: 8.3%
    assert row == (12, 99.2, 0.8, 0.8, 8.3, False)


def test_fsm_and_non_fsm_groups_are_published_when_both_are_large_enough(
    built: dict[str, object],
) -> None:
    row = mart_row(
        built["db"],
        """select pupil_count, expected_standard_rate, high_standard_rate, average_score
           from marts.fct_attainment_by_group
           where organisation_id = ? and academic_year = '2024/25' and measure = 'ks2_reading'
             and group_type = 'fsm' and group_value = 'not_fsm'""",
        [ORG],
    )
    # P06-P12 scored 101..107: all at the expected standard, none at 110
    assert row == (7, 100.0, 0.0, 104.0)


def test_a_group_of_four_is_suppressed_and_its_complement_with_it(built: dict[str, object]) -> None:
    con = duckdb.connect(str(built["db"]), read_only=True)
    try:
        rows = con.execute(
            """select group_value, pupil_count, attendance_rate, is_suppressed
               from marts.fct_attendance_by_group
               where organisation_id = ? and academic_year = '2024/25' and term = 'autumn'
                 and key_stage = 'all' and group_type = 'ethnicity_major_group'
               order by group_value""",
            [ORG],
        ).fetchall()
    finally:
        con.close()
    # four Asian pupils: suppressed; the eight White pupils would give them away (12 - 8)
    assert rows == [("Asian", None, None, True), ("White", None, None, True)]


def test_anonymised_pupil_still_counts_in_every_mart(built: dict[str, object]) -> None:
    assert built["before"]["marts"] == read_tables(built["db"], "marts")
    assert mart_row(
        built["db"],
        """select pupil_count from marts.fct_progress_by_group
           where organisation_id = ? and subject = 'reading' and group_type = 'all'""",
        [ORG],
    ) == (12,)


def test_no_intermediate_relation_keeps_the_old_id_or_key(built: dict[str, object]) -> None:
    old_key = built["before"]["keys"][ANONYMISED]
    for table, rows in read_tables(built["db"], "intermediate").items():
        values = {value for row in rows for value in row}
        assert ANONYMISED not in values, table
        assert old_key not in values, table


def test_anonymised_pupil_gets_a_fresh_key_and_the_others_keep_theirs(
    built: dict[str, object],
) -> None:
    before, after = built["before"]["keys"], built["keys"]
    assert ANONYMISED not in after
    assert after[built["surrogate"]] not in before.values()
    assert {p: after[p] for p in PUPILS if p != ANONYMISED} == {
        p: before[p] for p in PUPILS if p != ANONYMISED
    }


def test_marts_carry_no_pupil_key_or_id(built: dict[str, object]) -> None:
    identifiers = set(built["keys"]) | set(built["keys"].values())
    for table, rows in read_tables(built["db"], "marts").items():
        assert not identifiers & {value for row in rows for value in row}, table
    con = duckdb.connect(str(built["db"]), read_only=True)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts'"
            ).fetchall()
        }
    finally:
        con.close()
    assert not columns & {"pupil_key", "pupil_id", "upn"}


def mart_nodes(manifest: dict[str, object]) -> dict[str, dict[str, object]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }


def test_every_mart_is_guarded_by_the_disclosure_and_lineage_tests(
    built: dict[str, object],
) -> None:
    manifest = built["manifest"]
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
    built: dict[str, object],
) -> None:
    con = duckdb.connect(str(built["db"]), read_only=True)
    try:
        built_columns = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name in ('marts', 'intermediate')"
        ).fetchall()
    finally:
        con.close()
    nodes = {
        node["name"]: node
        for node in built["manifest"]["nodes"].values()
        if node["resource_type"] == "model"
    }
    for table, column in built_columns:
        node = nodes[table]
        assert node["description"].strip(), table
        assert node["columns"].get(column, {}).get("description", "").strip(), (table, column)


def test_exposures_name_the_dashboards_and_read_only_marts(built: dict[str, object]) -> None:
    exposures = built["manifest"]["exposures"].values()
    marts = {node["unique_id"] for node in mart_nodes(built["manifest"]).values()}
    assert {e["name"] for e in exposures} >= {"attendance_dashboard", "attainment_dashboard"}
    for exposure in exposures:
        assert exposure["owner"]["name"]
        assert set(exposure["depends_on"]["nodes"]) <= marts


def test_published_analyst_file_holds_exactly_the_built_marts(
    built: dict[str, object], tmp_path: Path
) -> None:
    result = publish_marts(built["db"], tmp_path / "analytics.duckdb")
    assert set(result.tables) == set(mart_nodes(built["manifest"]))
    con = duckdb.connect(str(result.analytics_db), read_only=True)
    try:
        schemas = {
            r[0] for r in con.execute("select distinct schema_name from duckdb_tables()").fetchall()
        }
        with pytest.raises(duckdb.Error):
            con.execute("delete from marts.fct_service_usage")
    finally:
        con.close()
    assert schemas == {"marts"}


def test_lineage_test_fails_a_mart_that_exposes_an_identifier(
    built: dict[str, object], tmp_path: Path
) -> None:
    """A copy of the project with leaking marts: a renamed postcode, a pupil key renamed to a
    "cohort code", the MIS pupil id, a lower-cased UPN and staff ids, read from staging
    directly. The lineage tests and the value scans must fail them, each identifier by its
    kind (the real marts pass the same tests in the module's build)."""
    project = tmp_path / "project"
    for part in (
        "macros",
        "seeds",
        "models/staging",
        "models/intermediate",
        "models/marts",
        "tests/marts",
    ):
        shutil.copytree(paths.PROJECT_DIR / part, project / part)
    for name in ("dbt_project.yml", "profiles.yml"):
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
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(built["db"], db)
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

    leak_build = dbt("build", "--select", "fct_leak")
    assert re.search(r"FAIL \d+ no_direct_identifier_lineage_fct_leak", leak_build)
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


# --- An independent attacker on the synthetic trust --------------------------------------
#
# For each partition the attacker writes down every linear relation the published cells obey
# (group values add up to their key stage's total, key stages add up to the all-key-stages
# row, key-stage totals add up to the partition total; a combination with no row is a known
# zero) and asks linear algebra, not the suppression macro, which withheld values follow.

Cell = tuple[str, str, str]  # (row: key stage or organisation type, group_type, group_value)

MART_SHAPES = {
    # mart: (partition columns, breakdown column or None, grouped)
    "fct_attendance_by_group": (("organisation_id", "academic_year", "term"), "key_stage", True),
    "fct_attainment_by_group": (
        ("organisation_id", "academic_year", "key_stage", "measure"),
        None,
        True,
    ),
    "fct_progress_by_group": (("organisation_id", "academic_year", "subject"), None, True),
    "fct_service_usage": (("academic_year",), "organisation_type", False),
}
MART_MEASURES = {
    "fct_attendance_by_group": (
        "attendance_rate",
        "authorised_absence_rate",
        "unauthorised_absence_rate",
        "overall_absence_rate",
        "persistent_absence_rate",
        "severe_absence_rate",
    ),
    "fct_attainment_by_group": ("expected_standard_rate", "high_standard_rate", "average_score"),
    "fct_progress_by_group": ("average_progress_score",),
    "fct_service_usage": (
        "organisation_count",
        "attendance_sessions_recorded",
        "assessments_recorded",
    ),
}


def partition_relations(cells: list[Cell]) -> list[dict[Cell, int]]:
    """Every additive relation between the cells of one partition, as {cell: coefficient}
    with sum(coefficient x value) = 0. Cells absent from ``cells`` are zero and drop out."""
    present = set(cells)
    rows = {row for row, _, _ in cells}
    parts = sorted(rows - {"all"})
    relations: list[dict[Cell, int]] = []

    def add(relation: dict[Cell, int]) -> None:
        relation = {cell: c for cell, c in relation.items() if cell in present}
        if relation:
            relations.append(relation)

    group_values: dict[str, set[str]] = {}
    for _, group_type, group_value in cells:
        if group_type != "all":
            group_values.setdefault(group_type, set()).add(group_value)
    for group_type, values in group_values.items():
        for row in rows:  # the values of a group type add up to the row's total
            relation = {(row, group_type, value): 1 for value in values}
            relation[(row, "all", "all")] = -1
            add(relation)
        if parts:  # each value's key stages add up to its all-key-stages cell
            for value in values:
                relation = {(row, group_type, value): 1 for row in parts}
                relation[("all", group_type, value)] = -1
                add(relation)
    if parts:  # the key-stage (organisation type) totals add up to the partition's total
        relation = {(row, "all", "all"): 1 for row in parts}
        relation[("all", "all", "all")] = -1
        add(relation)
    return relations


def determined_unknowns(cells: list[Cell], unknown: set[Cell]) -> set[Cell]:
    """The withheld cells whose value the relations fix: those whose unit vector lies in the
    row space of the relation matrix restricted to the unknowns (equivalently: every vector
    of that matrix's null space is zero there)."""
    order = sorted(unknown)
    if not order:
        return set()
    index = {cell: i for i, cell in enumerate(order)}
    relations = partition_relations(cells)
    matrix = np.zeros((max(len(relations), 1), len(order)))
    for r, relation in enumerate(relations):
        for cell, coefficient in relation.items():
            if cell in index:
                matrix[r, index[cell]] = coefficient
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    if null_space.shape[0] == 0:
        return set(order)
    norms = np.linalg.norm(null_space, axis=0)
    return {cell for cell, norm in zip(order, norms) if norm < 1e-9}


def published_partitions(
    db: Path,
    mart: str,
    value_column: str,
) -> dict[tuple[object, ...], dict[Cell, float | None]]:
    """{partition: {cell: published value or None when withheld}} for one value column."""
    partition_by, breakdown, grouped = MART_SHAPES[mart]
    row = breakdown or "'all'"  # without groups the organisation types are the rows
    groups = "group_type, group_value" if grouped else "'all', 'all'"
    con = duckdb.connect(str(db), read_only=True)
    try:
        records = con.execute(
            f"select {', '.join(partition_by)}, {row}, {groups}, "
            f"case when not is_suppressed then {value_column} end "
            f"from marts.{mart}"
        ).fetchall()
    finally:
        con.close()
    partitions: dict[tuple[object, ...], dict[Cell, float | None]] = {}
    width = len(partition_by)
    for record in records:
        cell = (str(record[width]), str(record[width + 1]), str(record[width + 2]))
        partitions.setdefault(tuple(record[:width]), {})[cell] = record[width + 3]
    return partitions


def recoverable_cells(
    db: Path,
    mart: str,
    value_column: str,
) -> list[tuple[tuple[object, ...], Cell]]:
    """(partition, cell) for every withheld value the published ones determine."""
    found = []
    for partition, values in published_partitions(db, mart, value_column).items():
        cells = list(values)
        # the relations must hold on what is published, or the attacker models the wrong mart
        if value_column == "pupil_count":
            for relation in partition_relations(cells):
                if all(values[c] is not None for c in relation):
                    assert sum(k * values[c] for c, k in relation.items()) == 0, (
                        mart,
                        partition,
                        relation,
                    )
        unknown = {cell for cell, value in values.items() if value is None}
        found += [(partition, cell) for cell in sorted(determined_unknowns(cells, unknown))]
    return found


def test_attacker_solves_a_chain_that_no_single_line_gives_away() -> None:
    """The attacker is not toothless. The pattern the line-by-line rule published on the
    synthetic trust (ORG001 2024/25 spring): every line hides two or more cells, but EYFS
    holds only SEN 'none' pupils, so that cell is the EYFS total, and KS1's SEN K count
    follows from the key-stage totals and the 'none' column. With one EYFS pupil on SEN
    support the chain breaks and nothing follows."""
    totals = [
        ("EYFS", "all", "all"),
        ("KS1", "all", "all"),
        ("KS2", "all", "all"),
        ("all", "all", "all"),
    ]
    sen = [
        (row, "sen", value)
        for row, value in [
            ("EYFS", "none"),
            ("KS1", "K"),
            ("KS1", "none"),
            ("KS2", "E"),
            ("KS2", "K"),
            ("KS2", "none"),
            ("all", "E"),
            ("all", "K"),
            ("all", "none"),
        ]
    ]
    withheld = {
        ("EYFS", "all", "all"),
        ("KS1", "all", "all"),
        ("EYFS", "sen", "none"),
        ("KS1", "sen", "K"),
        ("KS1", "sen", "none"),
        ("KS2", "sen", "K"),
        ("KS2", "sen", "E"),
        ("all", "sen", "K"),
        ("all", "sen", "E"),
    }
    assert determined_unknowns(totals + sen, withheld) == {("KS1", "sen", "K")}
    eyfs_k = ("EYFS", "sen", "K")
    assert determined_unknowns(totals + sen + [eyfs_k], withheld | {eyfs_k}) == set()


@pytest.mark.parametrize("mart", sorted(MART_SHAPES))
def test_no_withheld_pupil_count_can_be_solved_from_the_published_cells(
    synthetic_template: SyntheticTemplate, mart: str
) -> None:
    assert recoverable_cells(synthetic_template.db, mart, "pupil_count") == []


@pytest.mark.parametrize(
    "mart, measure",
    sorted((mart, measure) for mart, measures in MART_MEASURES.items() for measure in measures),
)
def test_no_withheld_measure_can_be_solved_from_its_complement_or_total(
    synthetic_template: SyntheticTemplate, mart: str, measure: str
) -> None:
    """A measure withheld on its own (e.g. an average over fewer than min_cell_size scored
    pupils) has the same relations between its numerators as the counts: none may follow."""
    assert recoverable_cells(synthetic_template.db, mart, measure) == []


def test_an_average_withheld_for_too_few_scores_cannot_be_solved_from_its_complement(
    built: dict[str, object],
) -> None:
    """FSM maths: 5 pupils, 4 with a score, so its average is withheld; all pupils' average
    and non-FSM's would give it back (the total's sum minus non-FSM's), so one must go."""
    rows = dict(
        tuple(r)
        for r in duckdb.connect(str(built["db"]), read_only=True)
        .execute(
            """select group_value, average_score from marts.fct_attainment_by_group
           where measure = 'ks2_maths' and group_type in ('all', 'fsm')"""
        )
        .fetchall()
    )
    assert rows["fsm"] is None
    assert rows["all"] is None or rows["not_fsm"] is None
    for measure in MART_MEASURES["fct_attainment_by_group"]:
        assert recoverable_cells(built["db"], "fct_attainment_by_group", measure) == []


# --- Erasure through the real retention path -------------------------------------------


def all_values(db: Path, schema: str) -> dict[str, set[object]]:
    """Every value of every table of ``schema``, per table."""
    return {
        table: {value for row in rows for value in row}
        for table, rows in read_tables(db, schema).items()
    }


def whole_partition_counts(db: Path) -> dict[tuple[str, str, str], int]:
    """Published pupils of each attendance partition (all key stages, all pupils)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            (org, year, term): count
            for org, year, term, count in con.execute(
                """select organisation_id, academic_year, term, pupil_count
               from marts.fct_attendance_by_group
               where key_stage = 'all' and group_type = 'all' and not is_suppressed"""
            ).fetchall()
        }
    finally:
        con.close()


def test_retention_apply_rebuilds_intermediate_and_marts_and_republishes_for_analysts(
    synthetic_warehouse: Path,
) -> None:
    """`retention apply` on the synthetic trust: the pupils it anonymises lose their old keys
    everywhere below the marts, a pupil deleted at source (an MIS record removed, not
    anonymised) stops counting in every mart, and the analyst database is the new build."""
    db = synthetic_warehouse
    con = duckdb.connect(str(db))
    try:
        anonymised = con.execute(
            """select distinct plan.organisation_id, plan.subject_id, keys.pupil_key
               from retention.retention_plan as plan
               inner join intermediate.int_pupil_keys as keys
                   on plan.organisation_id = keys.organisation_id
                   and plan.subject_id = keys.pupil_id
               where plan.table_name = 'raw.pupils' and plan.action = 'anonymise'"""
        ).fetchall()
        # a current pupil nobody plans to touch, with attendance in the marts' years
        deleted_org, deleted_id, deleted_key = con.execute(
            """select keys.organisation_id, keys.pupil_id, keys.pupil_key
               from intermediate.int_pupil_keys as keys
               where keys.pupil_key in (
                   select pupil_key from intermediate.int_pupil_attendance_summarised
                   where term = 'full_year' and possible_sessions > 0)
               and not exists (
                   select 1 from retention.retention_plan as plan
                   where plan.organisation_id = keys.organisation_id
                   and plan.subject_id = keys.pupil_id)
               order by keys.organisation_id, keys.pupil_id limit 1"""
        ).fetchone()
        partitions = {
            tuple(r)
            for r in con.execute(
                """select organisation_id, academic_year, term
               from intermediate.int_pupil_attendance_summarised
               where pupil_key = ? and possible_sessions > 0""",
                [deleted_key],
            ).fetchall()
        }
        for table in (
            "attendance_sessions",
            "assessments",
            "sen_records",
            "pupil_contacts",
            "pupils",
        ):
            con.execute(
                f"delete from raw.{table} where organisation_id = ? and pupil_id = ?",
                [deleted_org, deleted_id],
            )
    finally:
        con.close()
    assert anonymised, "the synthetic trust should have pupils due for anonymisation"
    counts_before = whole_partition_counts(db)
    analytics = analytics_db_path()
    assert not analytics.exists()

    result = tasks.apply_retention(SYNTHETIC_AS_OF, dry_run=False, build=False)

    assert result.physically_erased
    old_keys = {key for _, _, key in anonymised} | {deleted_key}
    old_ids = {(org, pupil_id) for org, pupil_id, _ in anonymised} | {(deleted_org, deleted_id)}
    for table, values in all_values(db, "intermediate").items():
        assert not old_keys & values, table
    con = duckdb.connect(str(db), read_only=True)
    try:  # MIS ids repeat across organisations: the pair is the id
        assert not old_ids & set(
            con.execute(
                "select organisation_id, pupil_id from intermediate.int_pupil_keys"
            ).fetchall()
        )
    finally:
        con.close()
    for table, values in all_values(db, "marts").items():
        assert not old_keys & values, table
    # anonymised pupils still count; the deleted pupil no longer does, wherever it counted
    counts_after = whole_partition_counts(db)
    assert partitions & set(counts_before) & set(counts_after)
    for partition in set(counts_before) & set(counts_after):
        dropped = 1 if partition in partitions else 0
        assert counts_before[partition] - counts_after[partition] == dropped, partition
    # the analyst copy is the rebuilt marts, not the template's
    assert read_tables(analytics, "marts") == read_tables(db, "marts")


def test_fsm_and_disadvantaged_groups_are_withheld_alike(
    synthetic_template: SyntheticTemplate,
) -> None:
    """Disadvantaged is FSM today (same pupils, same figures): a cell withheld in one group
    type but published in the other would be read off the other, so the two must match."""
    compared = 0
    for mart in ("fct_attendance_by_group", "fct_attainment_by_group", "fct_progress_by_group"):
        patterns: dict[str, dict[tuple[object, ...], object]] = {"fsm": {}, "disadvantaged": {}}
        for group_type, value in (("fsm", "fsm"), ("disadvantaged", "disadvantaged")):
            for column in ("pupil_count", *MART_MEASURES[mart]):
                for partition, cells in published_partitions(
                    synthetic_template.db, mart, column
                ).items():
                    for (row, cell_group_type, group_value), number in cells.items():
                        if cell_group_type == group_type:
                            key = (column, partition, row, group_value == value)
                            patterns[group_type][key] = number
        assert patterns["fsm"] == patterns["disadvantaged"], mart
        compared += len(patterns["fsm"])
    assert compared


def test_a_partition_the_rounds_leave_unsettled_is_withheld_whole(tmp_path: Path) -> None:
    """The macro's safety net: with no rounds at all (max_rounds=0) organisation A's small
    FSM cell is unsettled, so A is withheld whole (every relation then has only unknowns);
    B, with nothing small, is published; one round settles A with its complement. The
    generic test passes on every outcome."""
    project = tmp_path / "project"
    for part in ("macros",):
        shutil.copytree(paths.PROJECT_DIR / part, project / part)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(paths.PROJECT_DIR / name, project / name)
    (project / "models").mkdir()
    cells = (
        "select * from (values ('A', 'all', 'all', 20), ('A', 'fsm', 'fsm', 3), "
        "('A', 'fsm', 'not_fsm', 17), ('B', 'all', 'all', 20), ('B', 'fsm', 'fsm', 10), "
        "('B', 'fsm', 'not_fsm', 10)) "
        "as v (organisation_id, group_type, group_value, pupil_count)"
    )
    tests = []
    for rounds in (0, 1):
        (project / "models" / f"probe_{rounds}.sql").write_text(
            f"with cells as ({cells}),\n"
            "suppressed as ({{ suppress_small_cells('cells', partition_by=['organisation_id'], "
            f"measures=[], max_rounds={rounds}) }}}})\n"
            "select * from suppressed\n"
        )
        tests.append(
            f"  - name: probe_{rounds}\n    data_tests:\n"
            "      - no_recoverable_suppressed_cells:\n"
            "          arguments:\n            partition_by: [organisation_id]\n"
        )
    (project / "models" / "_probes.yml").write_text("version: 2\nmodels:\n" + "".join(tests))
    db = tmp_path / "probe.duckdb"
    completed = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "build",
            "--select",
            "probe_0",
            "probe_1",
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
    assert completed.returncode == 0, completed.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    try:
        withheld = {
            rounds: set(
                con.execute(
                    f"select organisation_id, group_value from main.probe_{rounds} "
                    "where is_suppressed"
                ).fetchall()
            )
            for rounds in (0, 1)
        }
    finally:
        con.close()
    assert withheld[0] == {("A", "all"), ("A", "fsm"), ("A", "not_fsm")}
    assert withheld[1] == {("A", "fsm"), ("A", "not_fsm")}
