"""After a rewrite, an erased value found in the file's bytes fails the run unless the warehouse
keeps it lawfully (a raw row still holding it) or by chance (digits inside a random surrogate
id). A copy left in any other table is still a failure: that is the leak the scan is for."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tinytracker import tasks

TEACHER_NUMBER = "1340656"
SURROGATE = "5d0e3a1b-9c7f-4e2a-8b13-1340656f1d2c"  # a random UUID that holds it by chance


def warehouse_with(tmp_path: Path, *statements: str) -> Path:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    try:
        for statement in (
            "create schema raw",
            "create schema audit",
            "create schema intermediate",
            "create table raw.employees (teacher_number varchar, email varchar)",
            "create table audit.erasure_suppressions (surrogate_id varchar)",
            "create table intermediate.int_staff (contact varchar)",
            *statements,
        ):
            con.execute(statement)
    finally:
        con.close()
    return db


def test_digits_inside_a_random_surrogate_id_are_a_coincidence(tmp_path: Path) -> None:
    db = warehouse_with(tmp_path, f"insert into audit.erasure_suppressions values ('{SURROGATE}')")
    assert tasks.held_in_live_rows(db, [TEACHER_NUMBER]) == {TEACHER_NUMBER}


def test_a_raw_row_still_holding_the_value_keeps_it(tmp_path: Path) -> None:
    db = warehouse_with(tmp_path, "insert into raw.employees values (null, 'shared@school.org')")
    assert tasks.held_in_live_rows(db, ["shared@school.org"]) == {"shared@school.org"}


def test_a_copy_in_a_derived_table_is_not_excused(tmp_path: Path) -> None:
    db = warehouse_with(
        tmp_path,
        "insert into intermediate.int_staff values ('erased@school.org')",
        f"insert into intermediate.int_staff values ('{TEACHER_NUMBER}')",
    )
    assert tasks.held_in_live_rows(db, ["erased@school.org", TEACHER_NUMBER]) == set()
