"""The marts of a hand-made school: figures analysts rely on, and an anonymised pupil.

One warehouse for the module (tests/python/marts_school.py): twelve year 6 pupils, built with
dbt (staging, intermediate, marts and their data tests), then one pupil is anonymised the
way the retention run does it and the warehouse is built again. The dbt unit tests beside
the models check the arithmetic on hand-made rows; these tests check the whole chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from marts_attacker import MART_MEASURES, recoverable_cells
from marts_school import (
    ANONYMISED,
    ORG,
    PUPILS,
    build_school,
    mart_row,
    read_tables,
)

from tinytracker.publishing.publish import publish_marts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    yield build_school(tmp_path_factory.mktemp("marts_build"))


def test_marts_build_with_their_data_tests(built: dict[str, object]) -> None:
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
    # 6 absent sessions of 240: 2.5%; 3 pupils of 12 at exactly 10% persistently absent: 25%
    assert row == (12, 97.5, 2.5, 2.5, 25.0, False)


def test_fsm_rates_are_published_when_they_single_out_nobody(built: dict[str, object]) -> None:
    rows = {
        row[0]: row[1:]
        for row in duckdb.connect(str(built["db"]), read_only=True)
        .execute(
            """select group_value, pupil_count, expected_standard_rate, high_standard_rate,
                      average_score
               from marts.fct_attainment_by_group
               where organisation_id = ? and academic_year = '2024/25'
                 and measure = 'ks2_reading' and group_type in ('all', 'fsm')""",
            [ORG],
        )
        .fetchall()
    }
    # all 5 FSM pupils and 4 of the 7 others reach 100 (3 do not), nobody 110: rates with
    # 0 or 3+ pupils on each side are published; averages over 5 and 7 pupils are not
    assert rows["fsm"] == (5, 100.0, 0.0, None)
    assert rows["not_fsm"] == (7, 57.1, 0.0, None)
    assert rows["all"] == (12, 75.0, 0.0, 102.0)


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


def test_an_average_withheld_for_too_few_scores_cannot_be_solved_from_its_complement(
    built: dict[str, object],
) -> None:
    """FSM maths: 5 pupils, 4 with a score (P01 has code B), so its average is withheld;
    all pupils' average and non-FSM's would give it back (the total's sum minus non-FSM's),
    so one must go."""
    con = duckdb.connect(str(built["db"]), read_only=True)
    try:
        rows = dict(
            con.execute(
                """select group_value, average_score from marts.fct_attainment_by_group
                   where measure = 'ks2_maths' and group_type in ('all', 'fsm')"""
            ).fetchall()
        )
    finally:
        con.close()
    assert rows["fsm"] is None
    assert rows["all"] is None or rows["not_fsm"] is None
    for measure in MART_MEASURES["fct_attainment_by_group"]:
        assert recoverable_cells(built["db"], "fct_attainment_by_group", measure) == []


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


def test_published_analyst_file_holds_exactly_the_built_marts(
    built: dict[str, object], tmp_path: Path
) -> None:
    """Every period of the school is closed long before today, so the first publish
    releases all of them: the analyst file is the marts, and only the marts."""
    result = publish_marts(built["db"], tmp_path / "analytics.duckdb")
    assert read_tables(result.analytics_db, "marts") == read_tables(built["db"], "marts")
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
