"""Pools of names, streets, towns, postcodes and phone numbers drawn once from Faker.

Faker is slow (tens of microseconds a call) and 100,000 pupils with their contacts and staff
need about a million names, so we draw a few thousand values per pool from a seeded Faker and
combine them with seeded numpy indexes. Pools are sorted and de-duplicated so that the
result depends only on the seed and the Faker version in ``uv.lock``.

Phone numbers come from Faker's en_GB providers, which use Ofcom's drama ranges (01632 960xxx,
07700 900xxx, ...): fictional numbers that cannot ring a real person. They repeat across
families, which is harmless for synthetic data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
from faker import Faker

# Popular names of children born in England and Wales 2008-2022 (ONS top lists), mixed with
# Faker's en_GB list, which leans to older generations and suits contacts and staff.
MODERN_GIRLS = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Willow",
    "Freya",
    "Florence",
    "Emily",
    "Ella",
    "Poppy",
    "Evie",
    "Elsie",
    "Charlotte",
    "Evelyn",
    "Sienna",
    "Sofia",
    "Daisy",
    "Phoebe",
    "Sophie",
    "Alice",
    "Harper",
    "Matilda",
    "Ruby",
    "Emilia",
    "Maya",
    "Isabelle",
    "Millie",
    "Eva",
    "Chloe",
    "Jessica",
    "Layla",
    "Lucy",
    "Maisie",
    "Holly",
    "Ellie",
    "Scarlett",
    "Zara",
    "Aisha",
    "Maryam",
    "Fatima",
    "Hannah",
    "Megan",
]
MODERN_BOYS = [
    "Muhammad",
    "Noah",
    "Oliver",
    "George",
    "Leo",
    "Arthur",
    "Oscar",
    "Harry",
    "Archie",
    "Jack",
    "Henry",
    "Charlie",
    "Freddie",
    "Theodore",
    "Thomas",
    "Finley",
    "Theo",
    "Alfie",
    "Jacob",
    "William",
    "Isaac",
    "Tommy",
    "Joshua",
    "James",
    "Lucas",
    "Alexander",
    "Arlo",
    "Teddy",
    "Edward",
    "Max",
    "Reggie",
    "Jaxon",
    "Roman",
    "Elijah",
    "Rory",
    "Hugo",
    "Ethan",
    "Logan",
    "Harrison",
    "Mason",
    "Dylan",
    "Riley",
    "Kai",
    "Adam",
    "Yusuf",
    "Ibrahim",
    "Daniel",
    "Samuel",
    "Joseph",
]

CULTURES = ("gb", "south_asian", "polish", "west_african")
_LOCALES = {"gb": "en_GB", "south_asian": "en_IN", "polish": "pl_PL", "west_african": "yo_NG"}

STREET_SUFFIXES = (
    "Road",
    "Street",
    "Lane",
    "Avenue",
    "Close",
    "Drive",
    "Way",
    "Crescent",
    "Gardens",
    "Grove",
    "Place",
    "Terrace",
    "Court",
    "Walk",
    "Mews",
    "Rise",
    "Hill",
    "View",
    "Green",
    "Row",
)
"""British street types: Faker's en_GB street suffixes lean American (Skyway, Trace)."""

NOTE_SENTENCES = (
    "Reviewed with {person} on {day}.",
    "Next review planned for {day}.",
    "Advice from {person} (outreach service) shared with staff.",
    "Parents met {person} on {day} and agreed the targets.",
    "Referral discussed with {person}.",
    "Progress noted at the review on {day}.",
)

EMAIL_DOMAINS = (
    "gmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
    "live.co.uk",
    "sky.com",
    "aol.com",
    "googlemail.com",
)


def _unique_sorted(values: list[str]) -> np.ndarray:
    return np.array(sorted(set(v.strip() for v in values if v and v.strip())), dtype=object)


def ascii_slug(text: str) -> str:
    """``"Jędryczka O'Neil"`` -> ``"jedryczkaoneil"``: for e-mail local parts and domains."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


@dataclass
class NamePools:
    """Arrays of candidate values; pick with ``rng.integers(len(pool), size=n)``."""

    female: dict[str, np.ndarray]
    male: dict[str, np.ndarray]
    surnames: dict[str, np.ndarray]
    modern_female: np.ndarray
    modern_male: np.ndarray
    streets: np.ndarray
    towns: np.ndarray
    postcodes: np.ndarray
    landlines: np.ndarray
    mobiles: np.ndarray
    sentences: np.ndarray

    @classmethod
    def build(cls, seed: int, size: int = 3000) -> NamePools:
        """Draw every pool from Faker instances seeded from ``seed`` (one per locale)."""
        female, male, surnames = {}, {}, {}
        for i, culture in enumerate(CULTURES):
            fake = Faker(_LOCALES[culture])
            fake.seed_instance(seed * 101 + i)
            n = size if culture == "gb" else size // 4
            female[culture] = _unique_sorted([fake.first_name_female() for _ in range(n)])
            male[culture] = _unique_sorted([fake.first_name_male() for _ in range(n)])
            surnames[culture] = _unique_sorted([fake.last_name() for _ in range(n)])
        fake = Faker("en_GB")
        fake.seed_instance(seed * 101 + 99)
        streets = _unique_sorted(
            [
                f"{fake.last_name() if i % 3 else fake.first_name()} "
                f"{STREET_SUFFIXES[i % len(STREET_SUFFIXES)]}"
                for i in range(size)
            ]
        )
        towns = _unique_sorted([fake.city() for _ in range(size // 3)])
        postcodes = _unique_sorted([fake.postcode() for _ in range(size * 2)])
        landlines = _unique_sorted([fake.phone_number() for _ in range(size)])
        mobiles = _unique_sorted([fake.cellphone_number() for _ in range(size)])
        # Faker's en_GB sentence() is lorem ipsum; notes read better as English sentences
        # built from Faker's names and dates.
        sentences = _unique_sorted(
            [
                NOTE_SENTENCES[i % len(NOTE_SENTENCES)].format(
                    person=f"{fake.first_name()} {fake.last_name()}",
                    day=fake.date_between(
                        start_date=date(2015, 1, 1), end_date=date(2025, 6, 30)
                    ).strftime("%d %B"),
                )
                for i in range(size // 6)
            ]
        )
        return cls(
            female=female,
            male=male,
            surnames=surnames,
            modern_female=np.array(sorted(MODERN_GIRLS), dtype=object),
            modern_male=np.array(sorted(MODERN_BOYS), dtype=object),
            streets=streets,
            towns=towns,
            postcodes=postcodes,
            landlines=landlines,
            mobiles=mobiles,
            sentences=sentences,
        )

    def pick(self, rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
        return pool[rng.integers(0, len(pool), size=n)]

    def forenames(
        self,
        rng: np.random.Generator,
        cultures: np.ndarray,
        genders: np.ndarray,
        modern_share: float = 0.0,
    ) -> np.ndarray:
        """One forename per person, by culture and gender (U takes either list);
        ``modern_share`` of gb-culture children take a recent popular name."""
        n = len(cultures)
        out = np.empty(n, dtype=object)
        is_female = (genders == "F") | ((genders == "U") & (rng.random(n) < 0.5))
        for culture in CULTURES:
            for female_flag, pools in ((True, self.female), (False, self.male)):
                mask = (cultures == culture) & (is_female == female_flag)
                count = int(mask.sum())
                if count:
                    out[mask] = self.pick(rng, pools[culture], count)
        if modern_share > 0:
            modern = (cultures == "gb") & (rng.random(n) < modern_share)
            for female_flag, pool in ((True, self.modern_female), (False, self.modern_male)):
                mask = modern & (is_female == female_flag)
                out[mask] = self.pick(rng, pool, int(mask.sum()))
        return out

    def surnames_for(self, rng: np.random.Generator, cultures: np.ndarray) -> np.ndarray:
        out = np.empty(len(cultures), dtype=object)
        for culture in CULTURES:
            mask = cultures == culture
            out[mask] = self.pick(rng, self.surnames[culture], int(mask.sum()))
        return out

    def addresses(
        self, rng: np.random.Generator, towns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Street addresses in the given towns, with a postcode per street and town."""
        n = len(towns)
        street_idx = rng.integers(0, len(self.streets), size=n)
        numbers = rng.integers(1, 180, size=n)
        flats = rng.random(n) < 0.1
        flat_numbers = rng.integers(1, 25, size=n)
        streets = self.streets[street_idx]
        address = np.array(
            [
                (f"Flat {f}, " if is_flat else "") + f"{num} {street}, {town}"
                for is_flat, f, num, street, town in zip(
                    flats, flat_numbers, numbers, streets, towns
                )
            ],
            dtype=object,
        )
        town_codes = np.array([sum(map(ord, t)) for t in towns], dtype=np.int64)
        postcode_idx = (street_idx * 31 + town_codes * 7 + numbers // 40) % len(self.postcodes)
        return address, self.postcodes[postcode_idx]

    def emails(
        self, rng: np.random.Generator, forenames: np.ndarray, surnames: np.ndarray
    ) -> np.ndarray:
        domains = np.array(EMAIL_DOMAINS, dtype=object)[
            rng.integers(0, len(EMAIL_DOMAINS), len(forenames))
        ]
        numbers = rng.integers(1, 100, size=len(forenames))
        style = rng.integers(0, 3, size=len(forenames))
        out = []
        for f, s, d, num, st in zip(forenames, surnames, domains, numbers, style):
            first, last = ascii_slug(f) or "parent", ascii_slug(s) or "family"
            local = (f"{first}.{last}", f"{first[0]}{last}{num}", f"{first}{num}")[st]
            out.append(f"{local}@{d}")
        return np.array(out, dtype=object)
