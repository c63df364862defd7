"""Pupils: one row per pupil of the simulated rolls, with realistic characteristics and UPNs.

The roll (who was on roll when) comes from :mod:`tinytracker.generator.roll` and the household
facts siblings share from :mod:`tinytracker.generator.families`; here each pupil gets the rest
(gender, SEN, ability, absence propensity, email) and a valid UPN, issued by the school that
admitted them or carried from a feeder school. A latent ability drives every assessment so
results correlate across key stages; it is lower on average for disadvantaged and SEN pupils,
as in national data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tinytracker.core.upn import CHECK_TABLE, make_upn
from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.families import Families, draw_families
from tinytracker.generator.names import NamePools, ascii_slug
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.roll import academic_years_of, simulate_org, to_day, years_of

P_TEMPORARY_UPN = 0.08
"""Share of mid-year joiners (about 1% of all pupils) recorded with a temporary UPN: new
arrivals whose permanent UPN is not yet known."""


@dataclass
class Pupils:
    """Every pupil of the extract, sorted by organisation and pupil_id (arrays aligned)."""

    org_index: np.ndarray
    pupil_id: np.ndarray
    birth_cohort: np.ndarray
    date_of_birth: np.ndarray
    admission_date: np.ndarray
    leaving_date: np.ndarray
    last_on_roll: np.ndarray
    """leaving_date, or the organisation's data end for pupils still on roll."""
    end_of_phase: np.ndarray
    year_group: np.ndarray
    upn: np.ndarray
    forename: np.ndarray
    surname: np.ndarray
    gender: np.ndarray
    address: np.ndarray
    postcode: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    ethnicity: np.ndarray
    first_language: np.ndarray
    fsm_eligible: np.ndarray
    sen_provision: np.ndarray
    family: np.ndarray
    ability: np.ndarray
    absence_rate: np.ndarray
    late_rate: np.ndarray
    unauthorised_share: np.ndarray
    part_time: np.ndarray
    dual_registered: np.ndarray

    def __len__(self) -> int:
        return len(self.pupil_id)


def _assign_upns(
    org_index: np.ndarray,
    admission: np.ndarray,
    birth_cohort: np.ndarray,
    transferred: np.ndarray,
    joiner: np.ndarray,
    orgs: list[Organisation],
    rng: np.random.Generator,
) -> np.ndarray:
    """UPNs: own school's LA + establishment + year issued (year of admission) + serial, or a
    feeder school's prefix for transferred-in pupils; some temporary UPNs for new arrivals."""
    n = len(org_index)
    reception_age = 4
    feeder = rng.integers(0, 8, size=n)
    temporary = joiner & (rng.random(n) < P_TEMPORARY_UPN)
    years = years_of(admission)
    upn_year = np.where(
        transferred & ~temporary, np.minimum(years, birth_cohort + reception_age), years
    )
    prefixes = np.empty(n, dtype=object)
    for i in range(n):
        org = orgs[org_index[i]]
        la, estab = (
            org.feeders[feeder[i]]
            if transferred[i] and not temporary[i]
            else (org.la_code, org.estab)
        )
        prefixes[i] = f"{la:03d}{estab:04d}{upn_year[i] % 100:02d}"
    upns = np.empty(n, dtype=object)
    counters: dict[tuple[str, bool], int] = {}
    for i in range(n):
        key = (prefixes[i], bool(temporary[i]))
        rank = counters.get(key, 0)
        counters[key] = rank + 1
        prefix = prefixes[i]
        if temporary[i]:
            body = f"{prefix}{rank % 100:02d}{CHECK_TABLE[(rank // 100) % 23]}"
        else:
            if rank >= 999:  # more than 999 admissions in a year: spill to another prefix
                block = (int(prefix[3:7]) + 5000 * (rank // 999)) % 10000
                prefix = f"{prefix[:3]}{block:04d}{prefix[7:]}"
            body = f"{prefix}{rank % 999 + 1:03d}"
        upns[i] = make_upn(body)
    return upns


def build_pupils(
    orgs: list[Organisation], config: GeneratorConfig, rng: np.random.Generator, pools: NamePools
) -> tuple[Pupils, Families]:
    """Simulate every organisation's roll and draw each pupil's characteristics."""
    sims = [simulate_org(org, config, rng) for org in orgs]
    order_parts, org_parts = [], []
    for org, sim in zip(orgs, sims):
        tiebreak = rng.random(len(sim["admission"]))
        order = np.lexsort((tiebreak, sim["admission"]))
        for key in sim:
            sim[key] = sim[key][order]
        org_parts.append(np.full(len(order), org.index))
        order_parts.append(np.arange(1, len(order) + 1))
    org_index = np.concatenate(org_parts)
    number = np.concatenate(order_parts)
    sim = {k: np.concatenate([s[k] for s in sims]) for k in sims[0]}
    n = len(org_index)
    pupil_id = np.array([f"P{k:06d}" for k in number], dtype=object)
    data_end = np.array([to_day(orgs[o].data_end) for o in org_index], dtype="datetime64[D]")
    leaving = sim["leaving"]
    last_on_roll = np.where(np.isnat(leaving), data_end, leaving)
    age = academic_years_of(last_on_roll) - sim["birth_cohort"]
    year_group = np.empty(n, dtype=object)
    for org in orgs:
        by_age = {a: code for code, a in org.year_groups}
        mask = org_index == org.index
        year_group[mask] = [by_age[int(a)] for a in age[mask]]
    # Date of birth: uniformly within the birth cohort (1 Sep of cohort-1 .. 31 Aug of cohort).
    cohort_start = np.array(
        [to_day(date(int(c) - 1, 9, 1)) for c in sim["birth_cohort"]], dtype="datetime64[D]"
    )
    cohort_days = np.array(
        [(date(int(c), 8, 31) - date(int(c) - 1, 9, 1)).days + 1 for c in sim["birth_cohort"]]
    )
    dob = cohort_start + np.floor(rng.random(n) * cohort_days).astype("timedelta64[D]")

    counts = [int((org_index == o.index).sum()) for o in orgs]
    families, family_parts = draw_families(orgs, counts, rng, pools)
    family = np.concatenate(family_parts)

    gender = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    gender[rng.random(n) < 0.01] = "U"
    culture = families.culture[family]
    forename = pools.forenames(rng, culture, gender, modern_share=0.6)
    surname = families.surname[family].copy()
    blended = rng.random(n) < 0.06
    surname[blended] = pools.surnames_for(rng, culture[blended])
    fsm = families.fsm[family]
    male = gender == "M"
    nursery_age = np.isin(year_group, ["N1", "N2"])
    scale = np.where(nursery_age, 0.4, 1.0)
    p_e = 0.045 * np.where(male, 1.45, 0.55) * scale
    p_k = 0.135 * np.where(male, 1.3, 0.7) * np.where(fsm, 1.25, 0.92) * scale
    u = rng.random(n)
    sen = np.where(u < p_e, "E", np.where(u < p_e + p_k, "K", "N")).astype(object)
    eal = ~np.isin(families.first_language[family], ["ENG", "ENB"])
    ability = (
        0.85 * rng.normal(size=n)
        + families.effect[family]
        - 0.45 * fsm
        - 0.6 * (sen == "K")
        - 1.5 * (sen == "E")
        - 0.1 * eal
        + 0.1 * (gender == "F")
    )

    # Absence propensity: a skewed (gamma) rate per pupil, higher for FSM, SEN and secondary
    # pupils, plus 2% severe absentees; tuned to about 93-94% attendance with 15-20% of
    # pupils persistently absent (>= 10%) as in DfE statistics.
    secondary = np.array([orgs[o].phase == "secondary" for o in org_index])
    severe = rng.random(n) < 0.02
    multiplier = (
        np.where(fsm, 1.5, 1.0)
        * np.where(sen == "K", 1.3, 1.0)
        * np.where(sen == "E", 1.6, 1.0)
        * np.where(secondary, 1.25, 1.0)
    )
    absence = np.where(
        severe,
        rng.uniform(0.5, 0.85, size=n),
        np.minimum(rng.gamma(0.6, 0.07, size=n) * multiplier, 0.45),
    )
    unauthorised = np.clip(
        0.12 + 0.3 * (absence >= 0.1) + 0.15 * fsm + rng.normal(0, 0.05, n), 0.02, 0.85
    )
    late = np.minimum(rng.exponential(0.014, size=n) * np.where(fsm, 1.5, 1.0), 0.2)
    part_time = nursery_age & (rng.random(n) < 0.5)
    dual = ~nursery_age & (rng.random(n) < 0.003)

    address = families.address[family]
    postcode = families.postcode[family]
    phone = families.phone[family]
    email = np.full(n, None, dtype=object)
    domains = np.array([orgs[o].domain for o in org_index], dtype=object)
    for i in np.flatnonzero(secondary):
        email[i] = (
            f"{ascii_slug(forename[i])[:1]}{ascii_slug(surname[i])}"
            f"{int(dob[i].astype(object).year) % 100:02d}@{domains[i]}"
        )
    upn = _assign_upns(
        org_index,
        sim["admission"],
        sim["birth_cohort"],
        sim["transferred"],
        sim["joiner"],
        orgs,
        rng,
    )
    pupils = Pupils(
        org_index=org_index,
        pupil_id=pupil_id,
        birth_cohort=sim["birth_cohort"],
        date_of_birth=dob,
        admission_date=sim["admission"],
        leaving_date=leaving,
        last_on_roll=last_on_roll,
        end_of_phase=sim["end_of_phase"],
        year_group=year_group,
        upn=upn,
        forename=forename,
        surname=surname,
        gender=gender,
        address=address,
        postcode=postcode,
        email=email,
        phone=phone,
        ethnicity=families.ethnicity[family],
        first_language=families.first_language[family],
        fsm_eligible=fsm,
        sen_provision=sen,
        family=family,
        ability=ability,
        absence_rate=absence,
        late_rate=late,
        unauthorised_share=unauthorised,
        part_time=part_time,
        dual_registered=dual,
    )
    return pupils, families
