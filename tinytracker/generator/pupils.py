"""Pupils: who was on roll when, with realistic characteristics and valid UPNs.

Each organisation's roll is simulated by cohort: every September a cohort enters the first
year group, moves up a year group each year and leaves at the end of the last one (Y6 in a
primary school) in late July or on 31 August. Some pupils move away mid-year (on a school
day, or on 1 September) and others join mid-year from another school (they carry that
school's UPN prefix). Cohorts go back far enough that leavers span every year from the
history start (default 2018/19) to the extract date, well before the attendance window.

Characteristics are drawn per family first (ethnicity, language, FSM, surname, address,
contacts) so that siblings look like siblings, then per pupil (gender, SEN, ability). A
latent ability drives every assessment so results correlate across key stages; it is lower
on average for disadvantaged and SEN pupils, as in national data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tinytracker.core.upn import CHECK_TABLE, make_upn
from tinytracker.generator.calendar import academic_year_calendar, pupil_days_array
from tinytracker.generator.config import GeneratorConfig, academic_year_start
from tinytracker.generator.names import NamePools, ascii_slug
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.reference import ethnicity_extended_codes

NAT = np.datetime64("NaT", "D")
P_MOVE = 0.035
"""Chance per year that a pupil leaves before the end of the school's last year group."""
P_JOIN = 0.035
"""Mid-year joiners per year, as a share of the entry cohort."""
P_TEMPORARY_UPN = 0.08
"""Share of mid-year joiners (about 1% of all pupils) recorded with a temporary UPN: new
arrivals whose permanent UPN is not yet known."""

# main code: (weight in %, chance of a first language other than English, languages, names)
ETHNICITY: dict[str, tuple[float, float, tuple[str, ...], str]] = {
    "WBRI": (65.0, 0.01, ("WEL", "FRN"), "gb"),
    "WIRI": (0.4, 0.03, ("OTH",), "gb"),
    "WIRT": (0.1, 0.05, ("OTH",), "gb"),
    "WROM": (0.5, 0.6, ("ROM", "SLO", "CZE"), "gb"),
    "WOTH": (
        7.0,
        0.65,
        (
            "POL",
            "ROM",
            "LIT",
            "POR",
            "BUL",
            "ITA",
            "SPA",
            "LAT",
            "HUN",
            "ALB",
            "TUR",
            "GRE",
            "UKR",
            "RUS",
            "FRN",
            "GER",
        ),
        "polish",
    ),
    "MWBC": (1.5, 0.02, ("OTH",), "gb"),
    "MWBA": (0.9, 0.15, ("FRN", "YOR"), "gb"),
    "MWAS": (1.8, 0.12, ("URD", "PNJ"), "gb"),
    "MOTH": (2.2, 0.2, ("SPA", "ARA", "POR", "OTH"), "gb"),
    "AIND": (3.5, 0.55, ("GUJ", "PNJ", "TAM", "HIN", "TEL", "MAL"), "south_asian"),
    "APKN": (4.5, 0.6, ("URD", "PNJ", "PAS"), "south_asian"),
    "ABAN": (1.9, 0.7, ("BNG",), "south_asian"),
    "AOTH": (2.0, 0.6, ("TAM", "NEP", "TGL", "OTH", "PAS"), "south_asian"),
    "BAFR": (
        4.0,
        0.5,
        ("YOR", "SOM", "TWI", "IGB", "AMR", "TIG", "FRN", "SWA", "ARA"),
        "west_african",
    ),
    "BCRB": (1.0, 0.02, ("OTH",), "gb"),
    "BOTH": (0.6, 0.3, ("FRN", "POR", "OTH"), "west_african"),
    "CHNE": (0.6, 0.7, ("CHI", "CHIC", "CHIM"), "gb"),
    "OOTH": (2.0, 0.75, ("ARA", "KUR", "PHR", "VIE", "TGL", "OTH", "KOR", "JPN"), "gb"),
    "REFU": (0.8, 0.2, ("REF", "OTB"), "gb"),
    "NOBT": (0.7, 0.2, ("NOT", "OTB"), "gb"),
}
FSM_FACTOR = {
    "WBRI": 1.0,
    "BCRB": 1.4,
    "MWBC": 1.6,
    "ABAN": 1.3,
    "APKN": 1.3,
    "BAFR": 1.3,
    "WROM": 2.0,
    "WIRT": 2.0,
    "CHNE": 0.5,
    "AIND": 0.5,
    "WIRI": 0.8,
}


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


@dataclass
class Families:
    """Household facts shared by siblings; contacts are drawn per family."""

    org_index: np.ndarray
    culture: np.ndarray
    ethnicity: np.ndarray
    first_language: np.ndarray
    fsm: np.ndarray
    surname: np.ndarray
    address: np.ndarray
    postcode: np.ndarray
    phone: np.ndarray
    effect: np.ndarray

    def __len__(self) -> int:
        return len(self.surname)


def _d(day: date) -> np.datetime64:
    return np.datetime64(day, "D")


def _years_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(int) + 1970


def academic_years_of(days: np.ndarray) -> np.ndarray:
    """Start year of the academic year of each datetime64[D] (1 Sep - 31 Aug)."""
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    return _years_of(days) - (months < 9)


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


def _simulate_org(org: Organisation, config: GeneratorConfig, rng: np.random.Generator) -> dict:
    """Cohorts of one organisation: admission, leaving and birth cohort per pupil."""
    groups = len(org.year_groups)
    first_age = org.year_groups[0][1]
    last_year = academic_year_start(org.data_end)
    history_start = _d(date(config.history_start_year, 9, 1))
    size = org.pupils / groups
    parts: list[dict] = []
    for entry in range(config.history_start_year - groups + 1, last_year + 1):
        final = entry + groups - 1
        n0 = max(1, int(round(size * rng.uniform(0.88, 1.12))))
        first_day = _d(academic_year_calendar(entry).first_pupil_day)
        admission = np.where(rng.random(n0) < 0.7, first_day, _d(date(entry, 9, 1)))
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
        join_after = np.array([_d(date(int(y), 9, 20)) for y in join_years], dtype="datetime64[D]")
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
            [_d(date(int(y), 9, 1)) for y in move_year[september]], dtype="datetime64[D]"
        )
        midyear = moves & ~september
        leaving[midyear] = _random_day_after(rng, move_year[midyear], admission[midyear])
        end_of_phase = np.isnat(leaving)
        term_end = _d(academic_year_calendar(final).last_day)
        choice = rng.random(n)
        leaving[end_of_phase] = np.where(
            choice[end_of_phase] < 0.5,
            term_end,
            np.where(
                choice[end_of_phase] < 0.7, _d(date(final + 1, 7, 31)), _d(date(final + 1, 8, 31))
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
    keep = ~np.isnat(sim["admission"]) & (sim["admission"] <= _d(org.data_end))
    keep &= sim["leaving"] >= history_start
    sim = {k: v[keep] for k, v in sim.items()}
    if org.index == 0:
        _force_edge_leavers(sim, config, org)
    sim["leaving"] = np.where(sim["leaving"] > _d(org.data_end), NAT, sim["leaving"])
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

    data_end = _d(org.data_end)
    targets = [
        (sim["end_of_phase"] & (sim["final_year"] == last), date(last + 1, 7, 31)),
        (sim["end_of_phase"] & (sim["final_year"] == last), date(last + 1, 8, 31)),
        (sim["end_of_phase"] & (sim["final_year"] == last - 1), date(last, 7, 20)),
    ]
    september = date(last, 9, 1)
    targets.append(
        (
            (sim["final_year"] >= last)
            & (sim["admission"] < _d(september))
            & (sim["leaving"] > _d(september)),
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
        if _d(leap) <= data_end:
            targets.append(
                (
                    (sim["final_year"] >= year - 1)
                    & (sim["admission"] < _d(leap))
                    & (sim["leaving"] > _d(leap)),
                    leap,
                )
            )
            break
    for mask, day in targets:
        if _d(day) > data_end:
            continue
        i = pick(mask)
        if i is not None:
            sim["leaving"][i] = _d(day)
            sim["end_of_phase"][i] = day.month in (7, 8)


def _draw_families(
    orgs: list[Organisation], counts: list[int], rng: np.random.Generator, pools: NamePools
) -> tuple[Families, list[np.ndarray]]:
    """Households per organisation (about 1.3 pupils each) and each pupil's household."""
    codes = list(ETHNICITY)
    weights = np.array([ETHNICITY[c][0] for c in codes])
    org_of_family, family_of_pupil, offset = [], [], 0
    for org, count in zip(orgs, counts):
        n_fam = max(1, int(np.ceil(count / 1.3)))
        org_of_family.append(np.full(n_fam, org.index))
        family_of_pupil.append(offset + rng.integers(0, n_fam, size=count))
        offset += n_fam
    org_index = np.concatenate(org_of_family)
    n = len(org_index)
    main = np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=weights / weights.sum())]
    ethnicity = main.copy()
    extended = ethnicity_extended_codes()
    use_extended = rng.random(n) < 0.12
    pick = rng.random(n)
    for i in np.flatnonzero(use_extended):
        options = extended.get(main[i])
        if options:
            ethnicity[i] = options[int(pick[i] * len(options))]
    p_eal = np.array([ETHNICITY[m][1] for m in main])
    eal = rng.random(n) < p_eal
    language = np.where(rng.random(n) < 0.97, "ENG", "ENB").astype(object)
    for i in np.flatnonzero(eal):
        languages = ETHNICITY[main[i]][2]
        language[i] = languages[int(pick[i] * 7919) % len(languages)]
    culture = np.array([ETHNICITY[m][3] for m in main], dtype=object)
    culture[(culture == "west_african") & (rng.random(n) < 0.4)] = "gb"
    fsm_rate = np.array([orgs[o].fsm_rate for o in org_index]) * np.array(
        [FSM_FACTOR.get(m, 1.1) for m in main]
    )
    fsm = rng.random(n) < np.clip(fsm_rate, 0, 0.9)
    towns = np.array(
        [orgs[o].towns[k] for o, k in zip(org_index, rng.integers(0, 5, size=n))], dtype=object
    )
    address, postcode = pools.addresses(rng, towns)
    phone = pools.pick(rng, pools.landlines, n)
    phone[rng.random(n) < 0.35] = None
    families = Families(
        org_index=org_index,
        culture=culture,
        ethnicity=ethnicity,
        first_language=language,
        fsm=fsm,
        surname=pools.surnames_for(rng, culture),
        address=address,
        postcode=postcode,
        phone=phone,
        effect=rng.normal(0, 0.45, size=n),
    )
    return families, family_of_pupil


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
    years = _years_of(admission)
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
    sims = [_simulate_org(org, config, rng) for org in orgs]
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
    data_end = np.array([_d(orgs[o].data_end) for o in org_index], dtype="datetime64[D]")
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
        [_d(date(int(c) - 1, 9, 1)) for c in sim["birth_cohort"]], dtype="datetime64[D]"
    )
    cohort_days = np.array(
        [(date(int(c), 8, 31) - date(int(c) - 1, 9, 1)).days + 1 for c in sim["birth_cohort"]]
    )
    dob = cohort_start + np.floor(rng.random(n) * cohort_days).astype("timedelta64[D]")

    counts = [int((org_index == o.index).sum()) for o in orgs]
    families, family_parts = _draw_families(orgs, counts, rng, pools)
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
