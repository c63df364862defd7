"""Who was on roll when: each organisation's roll simulated cohort by cohort.

Every September a cohort enters the first year group, moves up a year group each year and
leaves at the end of the last one (Y6 in a primary school) in late July or on 31 August. Some
pupils move away mid-year (on a school day, or on 1 September) and others join mid-year from
another school. Cohorts go back far enough that leavers span every year from the history start
(default 2018/19) to the extract date, well before the attendance window; the first
organisation also gets the leaving dates the retention examples turn on.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from tinytracker.generator.calendar import academic_year_calendar, pupil_days_array
from tinytracker.generator.config import GeneratorConfig, academic_year_start
from tinytracker.generator.organisations import Organisation

NAT = np.datetime64("NaT", "D")
P_MOVE = 0.035
"""Chance per year that a pupil leaves before the end of the school's last year group."""
P_JOIN = 0.035
"""Mid-year joiners per year, as a share of the entry cohort."""


def to_day(day: date) -> np.datetime64:
    return np.datetime64(day, "D")


def years_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(int) + 1970


def academic_years_of(days: np.ndarray) -> np.ndarray:
    """Start year of the academic year of each datetime64[D] (1 Sep - 31 Aug)."""
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    return years_of(days) - (months < 9)


def _random_day_after(rng: np.random.Generator, years: np.ndarray, after: np.ndarray) -> np.ndarray:
    """A random pupil day of academic year ``years[i]`` strictly after ``after[i]`` (NaT if
    none)."""
    out = np.full(len(years), NAT)
    for year in np.unique(years):
        mask = years == year
        days = pupil_days_array(int(year), int(year))
        lo = np.searchsorted(days, after[mask], side="right")
        idx = lo + np.floor(rng.random(int(mask.sum())) * (len(days) - lo)).astype(int)
        out[mask] = np.where(lo < len(days), days[np.minimum(idx, len(days) - 1)], NAT)
    return out


def simulate_org(org: Organisation, config: GeneratorConfig, rng: np.random.Generator) -> dict:
    """Cohorts of one organisation: admission, leaving and birth cohort per pupil."""
    groups = len(org.year_groups)
    first_age = org.year_groups[0][1]
    last_year = academic_year_start(org.data_end)
    history_start = to_day(date(config.history_start_year, 9, 1))
    size = org.pupils / groups
    parts: list[dict] = []
    for entry in range(config.history_start_year - groups + 1, last_year + 1):
        final = entry + groups - 1
        n0 = max(1, int(round(size * rng.uniform(0.88, 1.12))))
        first_day = to_day(academic_year_calendar(entry).first_pupil_day)
        admission = np.where(rng.random(n0) < 0.7, first_day, to_day(date(entry, 9, 1)))
        start_year = np.full(n0, entry)
        transferred = np.full(n0, org.phase == "secondary")
        join_years = np.array(
            [
                y
                for y in range(entry, min(final, last_year) + 1)
                for _ in range(rng.poisson(n0 * P_JOIN))
            ],
            dtype=int,
        )
        join_after = np.array(
            [to_day(date(int(y), 9, 20)) for y in join_years], dtype="datetime64[D]"
        )
        join_admission = _random_day_after(rng, join_years, join_after)
        admission = np.concatenate([admission, join_admission])
        start_year = np.concatenate([start_year, join_years])
        transferred = np.concatenate([transferred, np.ones(len(join_years), dtype=bool)])
        joiner = np.concatenate([np.zeros(n0, dtype=bool), np.ones(len(join_years), dtype=bool)])
        n = len(admission)
        move_year = start_year + rng.geometric(P_MOVE, size=n) - 1
        leaving = np.full(n, NAT)
        moves = move_year <= final
        september = moves & (move_year > start_year) & (rng.random(n) < 0.1)
        leaving[september] = np.array(
            [to_day(date(int(y), 9, 1)) for y in move_year[september]], dtype="datetime64[D]"
        )
        midyear = moves & ~september
        leaving[midyear] = _random_day_after(rng, move_year[midyear], admission[midyear])
        end_of_phase = np.isnat(leaving)
        term_end = to_day(academic_year_calendar(final).last_day)
        choice = rng.random(n)
        leaving[end_of_phase] = np.where(
            choice[end_of_phase] < 0.5,
            term_end,
            np.where(
                choice[end_of_phase] < 0.7,
                to_day(date(final + 1, 7, 31)),
                to_day(date(final + 1, 8, 31)),
            ),
        )
        parts.append(
            {
                "birth_cohort": np.full(n, entry - first_age),
                "admission": admission,
                "leaving": leaving,
                "end_of_phase": end_of_phase,
                "final_year": np.full(n, final),
                "transferred": transferred,
                "joiner": joiner,
            }
        )
    sim = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = ~np.isnat(sim["admission"]) & (sim["admission"] <= to_day(org.data_end))
    keep &= sim["leaving"] >= history_start
    sim = {k: v[keep] for k, v in sim.items()}
    if org.index == 0:
        _force_edge_leavers(sim, config, org)
    sim["leaving"] = np.where(sim["leaving"] > to_day(org.data_end), NAT, sim["leaving"])
    return sim


def _force_edge_leavers(sim: dict, config: GeneratorConfig, org: Organisation) -> None:
    """Give ORG001 the leaving dates the retention examples turn on: 31 July, 31 August and
    1 September (either side of the academic-year boundary), 20 July, and a 29 February."""
    last = config.current_academic_year - 1
    used: set[int] = set()

    def pick(mask: np.ndarray) -> int | None:
        for i in np.flatnonzero(mask):
            if int(i) not in used:
                used.add(int(i))
                return int(i)
        return None

    data_end = to_day(org.data_end)
    targets = [
        (sim["end_of_phase"] & (sim["final_year"] == last), date(last + 1, 7, 31)),
        (sim["end_of_phase"] & (sim["final_year"] == last), date(last + 1, 8, 31)),
        (sim["end_of_phase"] & (sim["final_year"] == last - 1), date(last, 7, 20)),
    ]
    september = date(last, 9, 1)
    targets.append(
        (
            (sim["final_year"] >= last)
            & (sim["admission"] < to_day(september))
            & (sim["leaving"] > to_day(september)),
            september,
        )
    )
    leap_years = [
        y
        for y in range(config.current_academic_year + 1, config.history_start_year, -1)
        if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    ]
    for year in leap_years:
        leap = date(year, 2, 29)
        if to_day(leap) <= data_end:
            targets.append(
                (
                    (sim["final_year"] >= year - 1)
                    & (sim["admission"] < to_day(leap))
                    & (sim["leaving"] > to_day(leap)),
                    leap,
                )
            )
            break
    for mask, day in targets:
        if to_day(day) > data_end:
            continue
        i = pick(mask)
        if i is not None:
            sim["leaving"][i] = to_day(day)
            sim["end_of_phase"][i] = day.month in (7, 8)
