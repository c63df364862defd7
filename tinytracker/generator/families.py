"""Households: the characteristics siblings share, drawn per family before per pupil.

Ethnicity, first language, FSM eligibility, surname, address and landline belong to the
family, so siblings look like siblings; a family effect also shifts their latent ability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytracker.generator.names import NamePools
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.reference import ethnicity_extended_codes

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


def draw_families(
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
