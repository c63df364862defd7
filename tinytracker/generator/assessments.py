"""Statutory assessments for each generated academic year, driven by a latent ability.

One per-pupil ability (lower on average for FSM and SEN pupils) feeds every stage, so
EYFSP, phonics, MTC, KS2 and GCSE results correlate the way analysts expect and progress
measures are meaningful. Only assessments whose date has passed on the organisation's last
data day are generated (GCSE results arrive on results day in August, so the extract date
2025-07-18 has no 2024/25 GCSEs yet). Dates per academic year ``y/y+1``:

- EYFSP E01-E17 (Reception): last school day of June.  PHONICS (Y1, Y2 retake below 32):
  second Monday of June.  MTC (Y4): first Wednesday of June.
- KS2 GPS / READ / MATHS (Y6): the Monday / Tuesday / Wednesday of the second full week of
  May; KS2_WRITING_TA: last school day of June.
- GCSE_<SUBJECT> (Y11): results day, the third Thursday of August. Combined science is
  double graded ("5-4"), which the contract's single grade cannot hold, so it is left out.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from tinytracker.generator.calendar import _nth_weekday, academic_year_calendar
from tinytracker.generator.config import GeneratorConfig, academic_year_label
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils

EYFSP_DIFFICULTY = np.array(
    [0.4, 0.3, 0.5, 0.2, 0.1, 0.0, 0.3, 0.2, -0.2, -0.3, 0.1, 0.2, 0.4, 0.3, 0.2, 0.1, 0.0]
)
GCSE_CORE = ("ENGLISH_LANGUAGE", "ENGLISH_LITERATURE", "MATHS")
GCSE_TRIPLE = ("BIOLOGY", "CHEMISTRY", "PHYSICS")
GCSE_OPTIONS = (
    "HISTORY",
    "GEOGRAPHY",
    "FRENCH",
    "SPANISH",
    "COMPUTER_SCIENCE",
    "ART_AND_DESIGN",
    "RELIGIOUS_STUDIES",
    "DESIGN_AND_TECHNOLOGY",
    "MUSIC",
    "PHYSICAL_EDUCATION",
    "BUSINESS",
    "DRAMA",
)


def _last_school_day_of_june(year: int) -> date:
    days = [d for d in academic_year_calendar(year - 1).school_days if d.month == 6]
    return days[-1]


def _dates(year: int) -> dict[str, date]:
    """Assessment dates of academic year ``year``/``year+1``."""
    y2 = year + 1
    may = _nth_weekday(y2, 5, 0, 2)
    return {
        "EYFSP": _last_school_day_of_june(y2),
        "PHONICS": _nth_weekday(y2, 6, 0, 2),
        "MTC": _nth_weekday(y2, 6, 2, 1),
        "KS2_GPS": may,
        "KS2_READ": may + timedelta(days=1),
        "KS2_MATHS": may + timedelta(days=2),
        "KS2_WRITING_TA": _last_school_day_of_june(y2),
        "GCSE": _nth_weekday(y2, 8, 3, 3),
    }


def _ks2_result(
    rng: np.random.Generator, z: np.ndarray, sen: np.ndarray, offset: float
) -> np.ndarray:
    n = len(z)
    score = np.clip(np.round(104 + offset + 7 * z + rng.normal(0, 4, n)), 80, 120).astype(int)
    out = score.astype(str).astype(object)
    u = rng.random(n)
    out[(sen == "E") & (z < -2.0) & (u < 0.7)] = "B"
    out[(z < -2.4) & (u >= 0.7) & (u < 0.8)] = "T"
    out[u > 0.988] = "A"
    out[(u > 0.9865) & (u <= 0.988)] = "M"
    out[(u > 0.986) & (u <= 0.9865)] = "Q"
    out[(u > 0.9858) & (u <= 0.986)] = "U"
    return out


def _writing_result(rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    t = z + rng.normal(0, 0.5, len(z))
    pk = np.clip(6 + np.floor((t + 1.9) * 4), 1, 6).astype(int)
    return np.where(
        t > 1.1,
        "GDS",
        np.where(t > -0.55, "EXS", np.where(t > -1.9, "WTS", np.char.add("PK", pk.astype(str)))),
    ).astype(object)


def build_assessments(
    pupils: Pupils, orgs: list[Organisation], config: GeneratorConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Assessment rows sorted by organisation, pupil_id, academic_year, assessment."""
    n = len(pupils)
    z = pupils.ability
    phonics_first = np.clip(np.round(33 + 6.5 * z + rng.normal(0, 3, n)), 0, 40).astype(int)
    phonics_retake = np.clip(phonics_first + rng.integers(3, 12, n), 0, 40)
    data_end = np.array([np.datetime64(orgs[o].data_end, "D") for o in pupils.org_index])
    group_by_age = [{age: code for code, age in org.year_groups} for org in orgs]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(
        rows: np.ndarray, year: int, name: str | np.ndarray, result: np.ndarray, day: date
    ) -> None:
        k = len(rows)
        if not k:
            return
        names = np.full(k, name, dtype=object) if isinstance(name, str) else name
        parts.append((rows, np.full(k, year), names, result, np.full(k, np.datetime64(day, "D"))))

    for year in range(config.window_start_year, config.current_academic_year + 1):
        dates = _dates(year)
        age = year - pupils.birth_cohort
        group = np.array(
            [group_by_age[o].get(int(a)) for o, a in zip(pupils.org_index, age)], dtype=object
        )

        def eligible(
            code: str, day: date, on_roll_day: date | None = None, group: np.ndarray = group
        ) -> np.ndarray:
            d = np.datetime64(day, "D")
            roll = np.datetime64(on_roll_day or day, "D")
            return np.flatnonzero(
                (group == code)
                & (pupils.admission_date <= roll)
                & (pupils.last_on_roll >= roll)
                & (data_end >= d)
            )

        rows = eligible("R", dates["EYFSP"])
        if len(rows):
            p = 1 / (1 + np.exp(-(1.3 + 1.5 * z[rows, None] - EYFSP_DIFFICULTY[None, :])))
            goals = np.where(rng.random(p.shape) < p, "2", "1").astype(object)
            for k in range(17):
                add(rows, year, f"EYFSP_E{k + 1:02d}", goals[:, k], dates["EYFSP"])
        rows = eligible("1", dates["PHONICS"])
        add(rows, year, "PHONICS", phonics_first[rows].astype(str).astype(object), dates["PHONICS"])
        rows = eligible("2", dates["PHONICS"])
        rows = rows[phonics_first[rows] < 32]
        add(
            rows, year, "PHONICS", phonics_retake[rows].astype(str).astype(object), dates["PHONICS"]
        )
        rows = eligible("4", dates["MTC"])
        mtc = np.clip(np.round(19.5 + 4.5 * z[rows] + rng.normal(0, 2.5, len(rows))), 0, 25)
        add(rows, year, "MTC", mtc.astype(int).astype(str).astype(object), dates["MTC"])
        for subject, offset in (("KS2_GPS", 1.0), ("KS2_READ", 1.0), ("KS2_MATHS", 0.0)):
            rows = eligible("6", dates[subject])
            add(
                rows,
                year,
                subject,
                _ks2_result(rng, z[rows], pupils.sen_provision[rows], offset),
                dates[subject],
            )
        rows = eligible("6", dates["KS2_WRITING_TA"])
        add(rows, year, "KS2_WRITING_TA", _writing_result(rng, z[rows]), dates["KS2_WRITING_TA"])
        rows = eligible("11", dates["GCSE"], on_roll_day=date(year + 1, 6, 1))
        for subject in GCSE_CORE + GCSE_TRIPLE + GCSE_OPTIONS:
            if subject in GCSE_TRIPLE:
                takers = rows[z[rows] > 0.3]
            elif subject in GCSE_OPTIONS:
                takers = rows[rng.random(len(rows)) < 4 / len(GCSE_OPTIONS)]
            else:
                takers = rows
            g = 4.6 + 1.8 * z[takers] + rng.normal(0, 0.9, len(takers))
            grade = np.clip(np.round(g), 1, 9).astype(int).astype(str).astype(object)
            grade[g < 0.6] = "U"
            add(takers, year, f"GCSE_{subject}", grade, dates["GCSE"])

    if not parts:
        empty = np.array([], dtype=object)
        return {
            "org_index": np.array([], int),
            "pupil_row": np.array([], int),
            "pupil_id": empty,
            "academic_year": empty,
            "assessment": empty,
            "result": empty,
            "assessed_on": np.array([], dtype="datetime64[D]"),
        }
    rows = np.concatenate([p[0] for p in parts])
    years = np.concatenate([p[1] for p in parts])
    names = np.concatenate([p[2] for p in parts])
    results = np.concatenate([p[3] for p in parts])
    days = np.concatenate([p[4] for p in parts])
    order = np.lexsort((names.astype(str), years, rows))
    rows, years, names, results, days = (
        rows[order],
        years[order],
        names[order],
        results[order],
        days[order],
    )
    return {
        "org_index": pupils.org_index[rows],
        "pupil_row": rows,
        "pupil_id": pupils.pupil_id[rows],
        "academic_year": np.array([academic_year_label(int(y)) for y in years], dtype=object),
        "assessment": names,
        "result": results,
        "assessed_on": days,
    }
