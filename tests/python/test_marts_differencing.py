"""Two nights, one pupil leaves FSM: the nightly marts give the child away by subtraction,
the analyst copies do not change.

bench/differencing.py makes the two nights from the synthetic trust: night 1 as built and
published, night 2 with one FSM pupil's eligibility ended, rebuilt and published the next
day over night 1's analyst copy, as the nightly job does. Subtracting the two nights' marts
(what analysts would see if every build were published) recovers that pupil's own
outcomes; the analyst copies, which release each closed period once
(tinytracker/publishing/release.py), are identical.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from marts_school import read_tables

from bench.differencing import (
    SESSION_RATES,
    Nights,
    changed_cells,
    one_pupil_leaves_fsm,
    period_of,
    recovered,
    truth,
)
from tinytracker.publishing.publish import publish_marts

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate, point_environment_at


@pytest.fixture(scope="module")
def nights(
    synthetic_template: SyntheticTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nights]:
    root = tmp_path_factory.mktemp("two_nights")
    db = root / "warehouse.duckdb"
    shutil.copy(synthetic_template.db, db)
    with pytest.MonkeyPatch.context() as env:
        point_environment_at(env, root, db)
        yield one_pupil_leaves_fsm(db, root / "nights", SYNTHETIC_AS_OF)


def test_subtracting_two_nights_marts_gives_the_pupils_own_outcomes(nights: Nights) -> None:
    facts = recovered(*nights.internal)
    known = truth(nights.internal[0], nights.pupil_key)
    exact = [fact for fact in facts if fact.measure not in SESSION_RATES.get(fact.mart, ())]
    assert exact, "the measurement found nothing to subtract: choose another pupil"
    for fact in exact:
        assert known[(fact.measure, period_of(fact))] == fact.value, fact


def test_the_analyst_copies_of_two_nights_are_identical(nights: Nights) -> None:
    assert read_tables(nights.analyst[1], "marts")["fct_attendance_by_group"]
    assert changed_cells(*nights.analyst) == 0


def test_a_period_first_released_after_the_change_shows_only_its_new_version(
    nights: Nights, tmp_path: Path
) -> None:
    """Night 1 publishes before 2024/25's summer term and year are released (the end of
    August plus 30 days), night 2 on the day they are: the periods night 1 released are
    unchanged, and the newly released ones are night 2's marts, with nothing earlier to
    subtract them from."""
    analyst = tmp_path / "analytics.duckdb"
    first = publish_marts(nights.internal[0], analyst, as_of=dt.date(2025, 9, 29))
    night_1 = read_tables(analyst, "marts")
    second = publish_marts(nights.internal[1], analyst, as_of=SYNTHETIC_AS_OF)
    night_2 = read_tables(analyst, "marts")
    assert second.released["fct_attendance_by_group"] > 0
    assert first.released["fct_attendance_by_group"] > 0
    con = duckdb.connect(str(analyst), read_only=True)
    try:
        newly = con.execute(
            "select count(*) from marts.fct_attendance_by_group "
            "where academic_year = '2024/25' and term in ('summer', 'full_year')"
        ).fetchone()[0]
    finally:
        con.close()
    assert newly > 0
    for mart, rows in night_1.items():
        assert set(rows) <= set(night_2[mart]), mart
    internal = read_tables(nights.internal[1], "marts")["fct_attendance_by_group"]
    released = [
        row for row in night_2["fct_attendance_by_group"] if row[1:3] == ("2024/25", "summer")
    ]
    assert set(released) <= set(internal)
