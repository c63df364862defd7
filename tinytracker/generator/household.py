"""Pupil contacts and SEN records: the people and needs around each pupil.

Contacts are drawn per family (so siblings list the same mother, father or carer) and
written once per pupil, because the contract keys a contact row by ``contact_id`` alone and a
contact row belongs to one pupil. SEN records follow each pupil's ``sen_provision``: a current
K or E episode (an E pupil often had an earlier K episode that ended the day before the plan
started), and a few N pupils with a K episode that has ended.
"""

from __future__ import annotations

import numpy as np

from tinytracker.generator.families import Families
from tinytracker.generator.names import NamePools
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils
from tinytracker.generator.roll import NAT

FIRST_CONTACT = (
    ("Mother", 0.8),
    ("Father", 0.12),
    ("Carer", 0.04),
    ("Foster carer", 0.02),
    ("Grandparent", 0.02),
)
SECOND_CONTACT = (
    ("Father", 0.72),
    ("Mother", 0.05),
    ("Step-father", 0.08),
    ("Grandparent", 0.1),
    ("Aunt", 0.03),
    ("Uncle", 0.02),
)
THIRD_CONTACT = (
    ("Grandparent", 0.5),
    ("Aunt", 0.15),
    ("Uncle", 0.1),
    ("Family friend", 0.1),
    ("Childminder", 0.1),
    ("Neighbour", 0.05),
)
FEMALE_RELATIONSHIPS = {"Mother", "Aunt", "Step-mother"}
MALE_RELATIONSHIPS = {"Father", "Uncle", "Step-father"}

NEED_K = {
    "SLCN": 24,
    "SEMH": 20,
    "MLD": 15,
    "SPLD": 12,
    "ASD": 11,
    "NSA": 6,
    "OTH": 4,
    "PD": 3,
    "HI": 2,
    "VI": 1.5,
    "SLD": 1,
    "MSI": 0.3,
}
NEED_E = {
    "ASD": 33,
    "SEMH": 15,
    "SLCN": 20,
    "SLD": 9,
    "MLD": 6,
    "PMLD": 3,
    "PD": 5,
    "HI": 2,
    "VI": 1,
    "MSI": 0.5,
    "SPLD": 3,
    "OTH": 2.5,
}
NOTE_TEMPLATES = (
    "{name} works best with a visual timetable and a quiet space to regulate. {sentence}",
    "Small-group phonics intervention three times a week; {name} has made steady progress.",
    "Speech and language therapist visited; targets for {name} shared with class staff.",
    "Review meeting with parents: {name} to keep 1:1 support at lunchtimes. {sentence}",
    "{name} uses a writing slope and pencil grip; fine motor programme continues.",
    "Educational psychologist assessment requested for {name}. {sentence}",
    "Sensory breaks before transitions help {name} settle. {sentence}",
    "{name} attends the nurture group on Tuesday and Thursday afternoons.",
)


def _choose(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    labels = np.array([o[0] for o in options], dtype=object)
    weights = np.array([o[1] for o in options])
    return labels[rng.choice(len(labels), size=n, p=weights / weights.sum())]


def build_contacts(
    pupils: Pupils,
    families: Families,
    orgs: list[Organisation],
    rng: np.random.Generator,
    pools: NamePools,
) -> dict[str, np.ndarray]:
    """Contact rows, sorted by organisation and contact_id (C0000001 per organisation)."""
    n_fam = len(families)
    n_contacts = rng.choice([1, 2, 3], size=n_fam, p=[0.3, 0.55, 0.15])
    relationships = [
        _choose(rng, options, n_fam) for options in (FIRST_CONTACT, SECOND_CONTACT, THIRD_CONTACT)
    ]
    # A second contact repeats the first one's role only where that is plausible.
    relationships[1][(relationships[0] == "Father") & (relationships[1] == "Father")] = "Mother"
    slots = []
    for slot, relationship in enumerate(relationships):
        gender = np.where(rng.random(n_fam) < 0.5, "F", "M").astype(object)
        gender[np.isin(relationship, list(FEMALE_RELATIONSHIPS))] = "F"
        gender[np.isin(relationship, list(MALE_RELATIONSHIPS))] = "M"
        forename = pools.forenames(rng, families.culture, gender)
        surname = families.surname.copy()
        other_surname = rng.random(n_fam) < (0.15 if slot == 0 else 0.35)
        surname[other_surname] = pools.surnames_for(rng, families.culture[other_surname])
        email = pools.emails(rng, forename, surname)
        email[rng.random(n_fam) < 0.15] = None
        phone = pools.pick(rng, pools.mobiles, n_fam)
        phone[rng.random(n_fam) < 0.03] = None
        other_home = rng.random(n_fam) < (0.1 if slot == 0 else 0.3)
        towns = np.array([orgs[o].towns[0] for o in families.org_index], dtype=object)
        elsewhere, _ = pools.addresses(rng, towns)
        address = np.where(other_home, elsewhere, families.address)
        slots.append(
            dict(
                forename=forename,
                surname=surname,
                relationship=relationship,
                email=email,
                phone=phone,
                address=address,
            )
        )
    per_pupil = n_contacts[pupils.family]
    pupil_rows = np.repeat(np.arange(len(pupils)), per_pupil)
    priority = (
        np.concatenate([np.arange(1, k + 1) for k in per_pupil])
        if len(per_pupil)
        else np.array([], int)
    )
    fam = pupils.family[pupil_rows]
    columns: dict[str, np.ndarray] = {}
    for key in ("forename", "surname", "relationship", "email", "phone", "address"):
        stacked = np.stack([s[key] for s in slots])  # (3, n_fam)
        columns[key] = stacked[priority - 1, fam]
    org_index = pupils.org_index[pupil_rows]
    number = np.zeros(len(pupil_rows), dtype=np.int64)
    for o in np.unique(org_index):
        mask = org_index == o
        number[mask] = np.arange(1, int(mask.sum()) + 1)
    columns.update(
        org_index=org_index,
        contact_id=np.array([f"C{k:07d}" for k in number], dtype=object),
        pupil_row=pupil_rows,
        pupil_id=pupils.pupil_id[pupil_rows],
        priority=priority,
    )
    return columns


def build_sen_records(
    pupils: Pupils, rng: np.random.Generator, pools: NamePools
) -> dict[str, np.ndarray]:
    """SEN episodes per pupil, sorted by organisation, pupil_id, start_date."""
    n = len(pupils)
    span = (pupils.last_on_roll - pupils.admission_date).astype(int)
    u1, u2 = rng.random(n), rng.random(n)
    rows: list[tuple] = []  # (pupil_row, provision, start, end)
    is_k, is_e = pupils.sen_provision == "K", pupils.sen_provision == "E"
    had_k = (pupils.sen_provision == "N") & (rng.random(n) < 0.03) & (span > 60)
    left = ~np.isnat(pupils.leaving_date)
    for i in np.flatnonzero(is_k | is_e | had_k):
        admission, last = pupils.admission_date[i], pupils.last_on_roll[i]
        start = admission + np.timedelta64(int(u1[i] * span[i] * 0.7), "D")
        if is_k[i]:
            end = last if left[i] and u2[i] < 0.5 else NAT
            rows.append((i, "K", start, end))
        elif is_e[i]:
            if u2[i] < 0.6 and span[i] > 120:
                e_start = start + np.timedelta64(
                    int(60 + u2[i] * (last - start).astype(int) * 0.5), "D"
                )
                e_start = min(e_start, last)
                if e_start > start:
                    rows.append((i, "K", start, e_start - np.timedelta64(1, "D")))
                    start = e_start
            rows.append((i, "E", start, last if left[i] and u2[i] < 0.3 else NAT))
        else:
            end = min(start + np.timedelta64(int(90 + u2[i] * 400), "D"), last)
            rows.append((i, "K", start, end))
    rows.sort(key=lambda r: (r[0], r[2]))
    pupil_row = np.array([r[0] for r in rows], dtype=np.int64)
    provision = np.array([r[1] for r in rows], dtype=object)
    needs = {}
    for prov, table in (("K", NEED_K), ("E", NEED_E)):
        codes = np.array(list(table), dtype=object)
        weights = np.array(list(table.values()))
        needs[prov] = codes[rng.choice(len(codes), size=len(rows), p=weights / weights.sum())]
    # A pupil keeps one primary need across episodes: draw per pupil, not per row.
    need_by_pupil: dict[int, str] = {}
    primary_need = np.empty(len(rows), dtype=object)
    for k, (i, prov, _, _) in enumerate(rows):
        primary_need[k] = need_by_pupil.setdefault(i, needs[prov][k])
    templates = rng.integers(0, len(NOTE_TEMPLATES), size=len(rows))
    sentences = pools.pick(rng, pools.sentences, len(rows))
    notes = np.array(
        [
            NOTE_TEMPLATES[t].format(name=pupils.forename[i], sentence=s)
            for t, s, (i, *_rest) in zip(templates, sentences, rows)
        ],
        dtype=object,
    )
    notes[rng.random(len(rows)) < 0.1] = None
    return {
        "org_index": pupils.org_index[pupil_row] if len(rows) else np.array([], int),
        "pupil_row": pupil_row,
        "pupil_id": pupils.pupil_id[pupil_row] if len(rows) else np.array([], object),
        "provision": provision,
        "primary_need": primary_need,
        "start_date": np.array([r[2] for r in rows], dtype="datetime64[D]"),
        "end_date": np.array([r[3] for r in rows], dtype="datetime64[D]"),
        "notes": notes,
    }
