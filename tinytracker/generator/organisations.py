"""The customer organisations: one in each contract state the retention rules must handle.

The first seven organisations are fixed so that every rule has something to act on (or to
leave alone) in every extract; the rest are ordinary active customers, mostly primary
schools, with nurseries and (from ten organisations up) secondary schools.

| id | state | retention on the default extract date 2025-07-18 |
|---|---|---|
| ORG001 | active, trust TR001, share_with_trust true | only per-pupil/employee rules |
| ORG002 | contract ended 31 Aug four years before (2021-08-31) | pupils, contacts, |
|        |                                                    | correspondence all due |
| ORG003 | contract ended at the end of the month four months | employees due (+1 month); |
|        | before (2025-03-31)                                | contacts 2025-09-30, pupils 2027 |
| ORG004 | active, anonymise_requested_on next 1 Sep (2025-09-01) | pupils due after the extract |
| ORG005 | active, mis_permission revoked | the loader refuses the whole organisation |
| ORG006 | trust TR001, share_with_trust true | the trust may see its data |
| ORG007 | trust TR001, share_with_trust false | the trust must not see its data |

Organisations outside a trust have ``trust_id`` empty and ``share_with_trust`` false.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.names import NamePools, ascii_slug
from tinytracker.generator.reference import year_group_ages

TRUST_ID = "TR001"
OTHER_TRUST_ID = "TR002"

STATES = (
    "active_trust_sharing",
    "contract_ended_long_ago",
    "contract_ended_recently",
    "anonymisation_requested",
    "mis_permission_revoked",
    "trust_member_sharing",
    "trust_member_not_sharing",
)
"""States of ORG001..ORG007, in order; every later organisation is ``active``."""

# Real English local-authority codes (3 digits), used for UPN characters 2-4.
LA_CODES = (
    201,
    202,
    203,
    204,
    206,
    207,
    208,
    209,
    210,
    211,
    212,
    213,
    330,
    331,
    332,
    333,
    334,
    335,
    336,
    350,
    351,
    352,
    353,
    354,
    355,
    356,
    357,
    358,
    359,
    370,
    371,
    372,
    373,
    380,
    381,
    382,
    383,
    384,
    390,
    391,
    392,
    393,
    394,
    800,
    801,
    802,
    803,
    821,
    822,
    823,
    825,
    826,
    830,
    831,
    850,
    851,
    852,
    855,
    856,
    857,
    860,
    861,
    865,
    866,
    867,
    868,
    869,
    870,
    871,
    872,
    873,
    874,
    876,
    877,
    878,
    879,
    880,
    881,
    882,
    883,
    884,
    885,
    886,
    887,
    888,
    889,
    890,
    891,
    892,
    893,
    894,
    895,
    896,
    908,
    909,
    916,
    919,
    921,
    925,
    926,
    928,
    929,
    931,
    933,
    935,
    936,
    937,
    938,
)
PHASE_WEIGHT = {"primary": 1.0, "nursery": 0.35, "secondary": 3.0}
ESTAB_BASE = {"nursery": 1000, "primary": 2000, "secondary": 4000}
FEEDERS = 8
"""Other schools per organisation whose UPN prefix transferred-in pupils carry."""


@dataclass
class Organisation:
    """One customer and the facts the rest of the generator derives pupils from."""

    index: int
    organisation_id: str
    state: str
    phase: str  # primary, secondary, nursery
    name: str
    trust_id: str | None
    contract_start: date
    contract_end: date | None
    anonymise_requested_on: date | None
    mis_permission: str
    share_with_trust: bool | None
    la_code: int
    estab: int
    towns: tuple[str, ...]
    domain: str
    fsm_rate: float
    pupils: int = 0
    year_groups: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    feeders: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    data_end: date = date.min
    """Last day the MIS fed Tiny Tracker: the extract date, or contract_end if earlier."""

    @property
    def organisation_type(self) -> str:
        return "nursery" if self.phase == "nursery" else "school"


def _year_groups(phase: str) -> tuple[tuple[str, int], ...]:
    """Year groups with their age on 31 August, read from the seed. Nurseries take the EYFS
    groups before Reception with distinct ages (N1, N2 with the current seed)."""
    ages = year_group_ages()
    if phase == "primary":
        codes = ["R", "1", "2", "3", "4", "5", "6"]
    elif phase == "secondary":
        codes = ["7", "8", "9", "10", "11"]
    else:
        codes, seen = [], set()
        for code in ("N1", "N2", "R"):
            if ages[code] not in seen:
                codes.append(code)
                seen.add(ages[code])
    return tuple((code, ages[code]) for code in codes)


def _phase_for(number: int) -> str:
    if number <= 7:
        return "primary"
    if number % 10 == 0:
        return "secondary"
    if number % 4 == 0:
        return "nursery"
    return "primary"


def _end_of_month(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _split(total: int, weights: list[float], rng: np.random.Generator) -> list[int]:
    """Split ``total`` pupils by ``weights`` with a little noise; sums exactly to ``total``."""
    w = np.array(weights) * rng.uniform(0.85, 1.15, size=len(weights))
    raw = total * w / w.sum()
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def build_organisations(
    config: GeneratorConfig, rng: np.random.Generator, pools: NamePools
) -> list[Organisation]:
    """All organisations of the extract, ORG001.. in order."""
    extract = config.extract_date
    h0 = config.history_start_year
    current = config.current_academic_year
    town_idx = rng.permutation(len(pools.towns))
    orgs: list[Organisation] = []
    for i in range(config.organisations):
        number = i + 1
        phase = _phase_for(number)
        state = STATES[i] if i < len(STATES) else "active"
        towns = tuple(pools.towns[town_idx[(i * 5 + k) % len(town_idx)]] for k in range(5))
        contract_end = anonymise = None
        trust_id, share = None, None
        permission = "granted"
        # Contract starts spread over the history; every third extra organisation joined in
        # the last year so that some setup imports are recent (not yet due for deletion).
        start = date(h0, 9, 1) + timedelta(days=int(rng.integers(0, 3 * 365)))
        if state == "active_trust_sharing":
            start, trust_id, share = date(h0, 9, 1), TRUST_ID, True
        elif state == "contract_ended_long_ago":
            start = date(h0, 11, 1)
            contract_end = date(extract.year - 4, 8, 31)
        elif state == "contract_ended_recently":
            start = date(h0 + 1, 1, 7)
            month = extract.month - 4
            contract_end = _end_of_month(extract.year + (month - 1) // 12, (month - 1) % 12 + 1)
        elif state == "anonymisation_requested":
            anonymise = date(current + 1, 9, 1)
        elif state == "mis_permission_revoked":
            permission = "revoked"
        elif state == "trust_member_sharing":
            trust_id, share = TRUST_ID, True
        elif state == "trust_member_not_sharing":
            trust_id, share = TRUST_ID, False
        else:
            if number % 3 == 0:
                start = extract - timedelta(days=int(rng.integers(40, 330)))
            if number % 5 == 1:
                trust_id, share = OTHER_TRUST_ID, bool(rng.random() < 0.5)
        if contract_end is not None and start >= contract_end:
            start = contract_end - timedelta(days=400)
        if phase == "nursery":
            name = f"{towns[0]} Nursery School"
        elif phase == "secondary":
            name = f"{towns[0]} Academy"
        elif number % 3 == 2:
            name = (
                f"St {pools.modern_male[number % len(pools.modern_male)]}'s C of E Primary School"
            )
        else:
            name = f"{towns[0]} Primary School"
        la = LA_CODES[(i * 7) % len(LA_CODES)]
        feeders = tuple(
            (
                la if k < 5 else LA_CODES[(i * 7 + k) % len(LA_CODES)],
                3000 + (i * FEEDERS + k) % 1000,
            )
            for k in range(FEEDERS)
        )
        org = Organisation(
            index=i,
            organisation_id=f"ORG{number:03d}",
            state=state,
            phase=phase,
            name=name,
            trust_id=trust_id,
            contract_start=start,
            contract_end=contract_end,
            anonymise_requested_on=anonymise,
            mis_permission=permission,
            share_with_trust=bool(share) if trust_id else False,
            la_code=la,
            estab=ESTAB_BASE[phase] + number,
            towns=towns,
            domain=f"{ascii_slug(name.replace(' School', ''))[:30]}.sch.uk",
            fsm_rate=float(rng.beta(5, 15)),
            year_groups=_year_groups(phase),
            feeders=feeders,
            data_end=min(extract, contract_end) if contract_end else extract,
        )
        orgs.append(org)
    counts = _split(config.pupils, [PHASE_WEIGHT[o.phase] for o in orgs], rng)
    for org, count in zip(orgs, counts):
        org.pupils = count
    return orgs
