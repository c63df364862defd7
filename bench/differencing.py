"""Differencing across nights: what subtracting two nights' marts tells a reader.

One pupil leaves the free-school-meals group between two nightly builds (their record's FSM
flag ends, as when eligibility lapses). Every cell that counted them moves by exactly one
pupil: FSM down one, not-FSM up one, in every year, term and key stage they were in. A
reader who kept last night's figures subtracts: for a binary rate, count x rate gives the
pupils with the outcome, and the difference is this pupil's outcome; for an average, the
difference of count x average is their score; for a session rate, their own rate (nearly:
pupils' possible sessions differ a little). Each version of each cell passes every
suppression rule; the difference is what gives the child away.

``one_pupil_leaves_fsm`` makes the two nights (internal marts and analyst copies) from a
built warehouse; ``recovered`` lists what the reader learns from two versions of the marts;
``subtract_nights`` puts both into words for bench/disclosure.py. tests/python/
test_marts_differencing.py runs the same on the synthetic trust of the test suite.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

# (mart, binary rates, averages with the pupils they are over) whose differences are read
RATES = {
    "fct_attendance_by_group": ("persistent_absence_rate", "severe_absence_rate"),
    "fct_attainment_by_group": ("expected_standard_rate", "high_standard_rate"),
}
AVERAGES = {"fct_attainment_by_group": ("average_score",)}
SESSION_RATES = {"fct_attendance_by_group": ("overall_absence_rate",)}
KEYS = {
    "fct_attendance_by_group": (
        "organisation_id",
        "academic_year",
        "term",
        "key_stage",
        "group_type",
        "group_value",
    ),
    "fct_attainment_by_group": (
        "organisation_id",
        "academic_year",
        "key_stage",
        "measure",
        "group_type",
        "group_value",
    ),
}


@dataclass(frozen=True)
class Nights:
    """The pupil who left FSM, and each night's warehouse and analyst copy."""

    organisation_id: str
    pupil_id: str
    pupil_key: str
    internal: tuple[Path, Path]
    analyst: tuple[Path, Path]


@dataclass(frozen=True)
class Fact:
    """One thing the reader learns about the pupil: ``value`` of ``measure`` in cell ``key``
    (an outcome 0 / 1, a score, or an absence rate)."""

    mart: str
    key: tuple[object, ...]
    measure: str
    value: float


def choose_pupil(db: Path) -> tuple[str, str, str]:
    """An FSM pupil on roll at the organisation with the most FSM pupils (first by id)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """
            with fsm as (
                select organisation_id, count(*) as pupils
                from raw.pupils where fsm_eligible group by organisation_id
            )
            select pupils.organisation_id, pupils.pupil_id, keys.pupil_key
            from raw.pupils as pupils
            inner join fsm on pupils.organisation_id = fsm.organisation_id
            inner join intermediate.int_pupil_keys as keys
                on pupils.organisation_id = keys.organisation_id
                and pupils.pupil_id = keys.pupil_id
            where pupils.fsm_eligible and pupils.leaving_date is null
            order by fsm.pupils desc, pupils.organisation_id, pupils.pupil_id
            limit 1
            """
        ).fetchone()
    finally:
        con.close()


def one_pupil_leaves_fsm(db: Path, out: Path, as_of: dt.date) -> Nights:
    """Night 1: ``db`` as built, published on ``as_of``. Night 2: a copy in which one pupil
    has left FSM, rebuilt (intermediate and marts) and published on the next day over night
    1's analyst copy, as the nightly job does. Environment: TINYTRACKER_DB is pointed at
    night 2's warehouse for the rebuild and restored afterwards."""
    from tinytracker.core import paths
    from tinytracker.core.dbt import run_dbt
    from tinytracker.publishing.publish import publish_marts

    out.mkdir(parents=True, exist_ok=True)
    night_1, night_2 = out / "night-1.duckdb", out / "night-2.duckdb"
    analyst = out / "analytics.duckdb"
    analyst_1 = out / "analytics-night-1.duckdb"
    for path in (night_1, night_2, analyst, analyst_1):
        if path.exists():
            path.chmod(0o644)
            path.unlink()
    shutil.copyfile(db, night_1)
    publish_marts(night_1, analyst, as_of=as_of)
    shutil.copyfile(analyst, analyst_1)
    organisation_id, pupil_id, pupil_key = choose_pupil(night_1)
    shutil.copyfile(night_1, night_2)
    con = duckdb.connect(str(night_2))
    try:
        con.execute(
            "update raw.pupils set fsm_eligible = false where organisation_id = ? and pupil_id = ?",
            [organisation_id, pupil_id],
        )
    finally:
        con.close()
    previous = os.environ.get(paths.DB_ENV)
    os.environ[paths.DB_ENV] = str(night_2)
    try:
        selection = ["path:models/intermediate", "path:models/marts"]
        if run_dbt(as_of, selection, command="run") != 0:
            raise RuntimeError("night 2's rebuild failed")
    finally:
        if previous is None:
            os.environ.pop(paths.DB_ENV, None)
        else:
            os.environ[paths.DB_ENV] = previous
    publish_marts(night_2, analyst, as_of=as_of + dt.timedelta(days=1))
    return Nights(organisation_id, pupil_id, pupil_key, (night_1, night_2), (analyst_1, analyst))


def _cells(db: Path, mart: str, columns: tuple[str, ...]) -> dict[tuple, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            f"select {', '.join(KEYS[mart])}, pupil_count, {', '.join(columns)} "
            f"from marts.{mart} where not is_suppressed"
        ).fetchall()
    finally:
        con.close()
    width = len(KEYS[mart])
    return {row[:width]: row[width:] for row in rows}


def recovered(first: Path, second: Path) -> list[Fact]:
    """What subtracting two versions of the marts gives about one pupil: for every cell
    published in both with one pupil more in ``first``, the pupil's outcome, score or rate
    from each measure published in both."""
    facts = []
    for mart in KEYS:
        measures = RATES.get(mart, ()) + AVERAGES.get(mart, ()) + SESSION_RATES.get(mart, ())
        before, after = _cells(first, mart, measures), _cells(second, mart, measures)
        for key in before.keys() & after.keys():
            (n_1, *values_1), (n_2, *values_2) = before[key], after[key]
            if abs(n_1 - n_2) != 1:
                continue
            for measure, value_1, value_2 in zip(measures, values_1, values_2):
                if value_1 is None or value_2 is None:
                    continue
                difference = (value_1 * n_1 - value_2 * n_2) / (n_1 - n_2)
                if measure in RATES.get(mart, ()):
                    difference = round(difference / 100)
                facts.append(Fact(mart, key, measure, round(difference, 1)))
    return sorted(facts, key=repr)


def changed_cells(first: Path, second: Path) -> int:
    """Rows of any mart that differ between two analyst copies (either way)."""
    con = duckdb.connect()
    try:
        con.execute("attach ? as first (read_only)", [str(first)])
        con.execute("attach ? as second (read_only)", [str(second)])
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where database_name = 'first'"
            ).fetchall()
        ]
        changed = 0
        for table in tables:
            for a, b in (("first", "second"), ("second", "first")):
                changed += con.execute(
                    f"select count(*) from (select * from {a}.marts.{table} "
                    f"except all select * from {b}.marts.{table})"
                ).fetchone()[0]
        return changed
    finally:
        con.close()


def truth(db: Path, pupil_key: str) -> dict[tuple[str, str], float]:
    """The pupil's own figures: {(measure, period): value} for the outcomes recovered."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        attendance = con.execute(
            "select academic_year || ' ' || term, is_persistently_absent, is_severely_absent, "
            "100.0 * absence_sessions / possible_sessions "
            "from intermediate.int_pupil_attendance_summarised "
            "where pupil_key = ? and possible_sessions > 0",
            [pupil_key],
        ).fetchall()
        outcomes = con.execute(
            "select academic_year || ' ' || measure, is_expected_standard, is_high_standard, "
            "score from intermediate.int_assessment_outcomes_evaluated where pupil_key = ?",
            [pupil_key],
        ).fetchall()
    finally:
        con.close()
    found: dict[tuple[str, str], float] = {}
    for period, persistent, severe, rate in attendance:
        found[("persistent_absence_rate", period)] = float(persistent)
        found[("severe_absence_rate", period)] = float(severe)
        found[("overall_absence_rate", period)] = round(float(rate), 1)
    for period, expected, high, score in outcomes:
        for measure, value in (
            ("expected_standard_rate", expected),
            ("high_standard_rate", high),
            ("average_score", score),
        ):
            if value is not None:
                found[(measure, period)] = float(value)
    return found


def period_of(fact: Fact) -> str:
    """The period a fact is about, as truth() names it."""
    key = dict(zip(KEYS[fact.mart], fact.key))
    second = key["term"] if "term" in key else key["measure"]
    return f"{key['academic_year']} {second}"


def subtract_nights(nights: Nights) -> str:
    """The measurement in words: facts recovered from the nightly marts, against the truth,
    and rows changed between the two nights' analyst copies."""
    facts = recovered(*nights.internal)
    known = truth(nights.internal[0], nights.pupil_key)
    exact = [f for f in facts if f.measure not in SESSION_RATES.get(f.mart, ())]
    right = sum(1 for f in exact if known.get((f.measure, period_of(f))) == f.value)
    estimates = [f for f in facts if f.measure in SESSION_RATES.get(f.mart, ())]
    errors = [
        abs(f.value - known[(f.measure, period_of(f))])
        for f in estimates
        if (f.measure, period_of(f)) in known
    ]
    distinct = {(f.measure, period_of(f)) for f in exact}
    periods = {period for _, period in distinct | {(f.measure, period_of(f)) for f in estimates}}
    lines = [
        f"One pupil ({nights.organisation_id}) leaves FSM between two nights.",
        f"Nightly marts: {len(facts)} differences isolate that pupil (cells published both "
        f"nights with one pupil fewer), over {len(periods)} terms or years: "
        f"{len(exact)} give an outcome or score exactly ({right} equal to the pupil's own; "
        f"{len(distinct)} distinct facts), {len(estimates)} estimate their absence rate"
        + (f" (median error {sorted(errors)[len(errors) // 2]:.1f} points)" if errors else "")
        + ".",
        f"Measures recovered: {', '.join(sorted({f.measure for f in facts}))}.",
        f"Analyst copies (released partitions only): "
        f"{changed_cells(*nights.analyst)} rows differ between the two nights.",
    ]
    return "\n".join(lines)
