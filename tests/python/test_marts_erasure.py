"""Erasure through the real retention path reaches the marts and the analyst copy."""

from __future__ import annotations

from pathlib import Path

import duckdb
from marts_school import read_tables

from tinytracker import tasks
from tinytracker.publishing.publish import analytics_db_path

from conftest import SYNTHETIC_AS_OF


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
