"""After a rewrite, an erased value found in the file's bytes fails the run unless the warehouse
keeps it lawfully (a raw row still holding it) or by chance (digits inside a random surrogate
id, two kept strings stored side by side). A copy left in any other table is still a failure:
that is the leak the scan is for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tinytracker import tasks
from tinytracker.core.bytescan import values_in_files
from tinytracker.core.errors import FailedError
from tinytracker.erasure.coincidence import explained_without_a_copy, numbers_copied_outside_raw
from tinytracker.erasure.result import RunResult

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
    assert explained_without_a_copy(db, [TEACHER_NUMBER]) == {TEACHER_NUMBER}


def test_digits_across_two_ids_side_by_side_or_inside_a_token_are_a_coincidence(
    tmp_path: Path,
) -> None:
    # the 30k bench: "...-6f30f16e1189" + "12231dfe-..." spells teacher number 1189122, and
    # a 64-hex suppression token held 1658968
    db = warehouse_with(
        tmp_path,
        "insert into audit.erasure_suppressions values "
        "('06e8bc85-eb94-4677-8a39-6f30f16e1189'), ('12231dfe-581c-4ee1-82a3-fc3a3c50c20e'), "
        "('56d436f8d2edbd9cbd5acc7b9aa3759e127bed3116589684f1fba68e41ff0179')",
    )
    found = values_in_files([db], ["1189122", "1658968"])
    assert found == {"1189122", "1658968"}
    assert explained_without_a_copy(db, sorted(found)) == found


def test_a_raw_row_still_holding_the_value_keeps_it(tmp_path: Path) -> None:
    db = warehouse_with(
        tmp_path,
        "insert into raw.employees values (null, 'shared@school.org'), "
        "('kept row: 07700 900123, office', null)",  # inside a longer kept text too
    )
    kept = ["shared@school.org", "07700 900123"]
    assert explained_without_a_copy(db, kept) == set(kept)


def test_a_copy_in_a_derived_table_is_not_excused(tmp_path: Path) -> None:
    db = warehouse_with(
        tmp_path,
        "insert into intermediate.int_staff values ('erased@school.org')",
        f"insert into intermediate.int_staff values ('{TEACHER_NUMBER}')",
    )
    assert explained_without_a_copy(db, ["erased@school.org", TEACHER_NUMBER]) == set()


ERASED_EMAIL = "mduncan49@outlook.com"  # the 10k bench: "...mistry@icloud.com" + a kept email


def test_two_kept_strings_side_by_side_that_spell_an_erased_value_are_a_coincidence(
    tmp_path: Path,
) -> None:
    db = warehouse_with(
        tmp_path,
        "insert into raw.employees values (null, 'maureen.mistry@icloud.com'), "
        "(null, 'duncan49@outlook.com')",
    )
    # DuckDB stores the column's strings back to back: the bytes really do spell the value
    assert values_in_files([db], [ERASED_EMAIL]) == {ERASED_EMAIL}
    assert explained_without_a_copy(db, [ERASED_EMAIL]) == {ERASED_EMAIL}


def test_a_whole_copy_is_not_excused_by_a_kept_string_that_ends_with_part_of_it(
    tmp_path: Path,
) -> None:
    db = warehouse_with(
        tmp_path,
        "insert into raw.employees values (null, 'duncan49@outlook.com')",
        f"insert into intermediate.int_staff values ('{ERASED_EMAIL}')",
    )
    # the tail is kept whole, but no other string of raw.employees.email ends with the "m"
    # before it, so no two kept strings spell it: the copy in int_staff is a leak
    assert explained_without_a_copy(db, [ERASED_EMAIL]) == set()


def test_a_teacher_number_is_looked_for_in_the_tables_not_the_bytes(tmp_path: Path) -> None:
    # the 100k bench: erased teacher number 0326016 spelled by two phones stored side by side
    # ("...4960326" + "01632..."); at that size every 7-digit number occurs in the bytes by
    # chance, so only a table holding it proves a copy
    db = warehouse_with(
        tmp_path,
        "insert into raw.employees values (null, '+44(0)115 4960326'), (null, '01632960464')",
        "insert into intermediate.int_staff values ('1234567')",
    )
    assert values_in_files([db], ["0326016"]) == {"0326016"}
    assert numbers_copied_outside_raw(db, ["0326016", "1234567"]) == {"1234567"}

    run = RunResult(run_id="r", as_of=dt.date(2025, 10, 1), dry_run=False)
    run.erased_values = ["0326016", "gone@school.org"]
    tasks.scan_for_erased(run, db)
    assert (run.bytes_checked, run.numbers_checked) == (1, 1)
    run.erased_values = ["0326016", "1234567"]
    with pytest.raises(FailedError, match="still holds 1 of the 2"):
        tasks.scan_for_erased(run, db)
