"""A hand-made school for the marts' tests: twelve year 6 pupils, built with dbt.

build_school builds staging, intermediate, the marts and their data tests for the school,
then anonymises one pupil the way the retention run does it (identifiers cleared, MIS id
replaced by a random surrogate, child rows re-keyed) and builds again.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import duckdb
import pytest

from tinytracker.core import paths, schema, warehouse
from tinytracker.core.dbt import run_dbt_build
from tinytracker.erasure.cohort import record_birth_cohorts

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
ILL_PUPILS = ("P01", "P02", "P03")  # 2 of 20 sessions ill: exactly 10%
# KS2 reading by pupil number: FSM (1-5) all at 100+, not FSM 4 of 7 (none at 110)
READING_SCORES = {1: 100, 2: 101, 3: 102, 4: 103, 5: 104, 6: 95, 7: 96, 8: 97, 9: 105}
READING_SCORES |= {10: 106, 11: 107, 12: 108}
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
    """Twelve year 6 pupils: five FSM, four Asian; P01-P03 at exactly 10% absence (2 of 20
    sessions ill); P01 working below the KS2 maths test (code B, no scaled score); in KS2
    reading every FSM pupil and four of the seven others reach the expected standard."""
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
                ill = pupil in ILL_PUPILS and day == SCHOOL_DAYS[0]
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
                "result": str(READING_SCORES[i]),
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


def build_school(root: Path) -> dict[str, object]:
    """Build the school's marts (with their data tests), anonymise P01 as a retention run
    does, build again; returns what the tests compare. Environment restored afterwards."""
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
        return {
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
