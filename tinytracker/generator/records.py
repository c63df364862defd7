"""Correspondence about named people and the rows of initial setup files.

Both exist to exercise retention rules: correspondence is deleted three years after a
contract ends, setup-import rows one year after they were processed. Correspondence is
dated while its subject was at the organisation (and before the organisation's last data
day); its summary names the person, as real correspondence logs do. Setup imports are the
pupil list a school sent when it joined (processed years ago for most organisations, recently
for new customers) and, for active schools, the list of September's new starters (processed
about ten months before the default extract date, so not yet due).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np

from tinytracker.generator.calendar import academic_year_calendar
from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils
from tinytracker.generator.roll import academic_years_of

CHANNELS = np.array(["email", "letter", "phone", "sms", "other"], dtype=object)
CHANNEL_WEIGHTS = np.array([0.45, 0.25, 0.15, 0.1, 0.05])
PUPIL_SUBJECTS = (
    "Letter home about {name}'s attendance",
    "Email to parents about {name}'s school trip consent",
    "Phone call about {name}: medical needs update",
    "Email about {name}'s reading book and homework",
    "Letter confirming {name}'s place in the breakfast club",
    "Text reminder: {name}'s parents' evening appointment",
    "Incident report sent home for {name}",
)
CONTACT_SUBJECTS = (
    "Email to {name} about parents' evening for {pupil}",
    "Phone call with {name} about {pupil}'s lateness",
    "Letter to {name}: change of contact details for {pupil}",
    "Text to {name}: {pupil} unwell, please collect",
)
EMPLOYEE_SUBJECTS = (
    "Letter to {name} confirming contract changes",
    "Reference request received for {name}",
    "Email to {name} about DBS renewal",
    "Return-to-work meeting notes sent to {name}",
    "Training certificate for {name}",
)


def _random_dates(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    span = np.maximum((end - start).astype(int), 0)
    return start + np.floor(rng.random(len(start)) * (span + 1)).astype("timedelta64[D]")


def build_correspondence(
    pupils: Pupils,
    contacts: dict[str, np.ndarray],
    employees: dict[str, np.ndarray],
    orgs: list[Organisation],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Correspondence rows sorted by organisation and correspondence_id (M0000001... in date
    order within the organisation)."""
    n = len(pupils)
    kinds, subject_ids, orgs_idx, sent, summaries = [], [], [], [], []
    contract_start = np.array([np.datetime64(o.contract_start, "D") for o in orgs])
    # Correspondence is the service's own log, so it starts at the contract start; a subject
    # who left before then has none.
    per = rng.poisson(0.6, n)
    per[pupils.last_on_roll < contract_start[pupils.org_index]] = 0
    rows = np.repeat(np.arange(n), per)
    dates = _random_dates(
        rng,
        np.maximum(pupils.admission_date[rows], contract_start[pupils.org_index[rows]]),
        pupils.last_on_roll[rows],
    )
    names = [f"{pupils.forename[i]} {pupils.surname[i]}" for i in rows]
    templates = rng.integers(0, len(PUPIL_SUBJECTS), len(rows))
    kinds.append(np.full(len(rows), "pupil", dtype=object))
    subject_ids.append(pupils.pupil_id[rows])
    orgs_idx.append(pupils.org_index[rows])
    sent.append(dates)
    summaries.append([PUPIL_SUBJECTS[t].format(name=nm) for t, nm in zip(templates, names)])
    # contacts: about 15% of contact rows have a message
    crow = np.flatnonzero(rng.random(len(contacts["contact_id"])) < 0.15)
    crow = crow[
        pupils.last_on_roll[contacts["pupil_row"][crow]]
        >= contract_start[contacts["org_index"][crow]]
    ]
    prow = contacts["pupil_row"][crow]
    dates = _random_dates(
        rng,
        np.maximum(pupils.admission_date[prow], contract_start[pupils.org_index[prow]]),
        pupils.last_on_roll[prow],
    )
    templates = rng.integers(0, len(CONTACT_SUBJECTS), len(crow))
    kinds.append(np.full(len(crow), "contact", dtype=object))
    subject_ids.append(contacts["contact_id"][crow])
    orgs_idx.append(contacts["org_index"][crow])
    sent.append(dates)
    summaries.append(
        [
            CONTACT_SUBJECTS[t].format(
                name=f"{contacts['forename'][c]} {contacts['surname'][c]}", pupil=pupils.forename[p]
            )
            for t, c, p in zip(templates, crow, prow)
        ]
    )
    # employees: about 60% have one message, some two
    per = rng.choice([0, 1, 2], size=len(employees["employee_id"]), p=[0.4, 0.45, 0.15])
    data_end = np.array([np.datetime64(o.data_end, "D") for o in orgs])[employees["org_index"]]
    emp_end = np.where(
        np.isnat(employees["leaving_date"]),
        data_end,
        np.minimum(employees["leaving_date"] + np.timedelta64(20, "D"), data_end),
    )
    emp_start = np.maximum(employees["start_date"], contract_start[employees["org_index"]])
    per[emp_end < emp_start] = 0
    erow = np.repeat(np.arange(len(per)), per)
    dates = _random_dates(rng, emp_start[erow], emp_end[erow])
    templates = rng.integers(0, len(EMPLOYEE_SUBJECTS), len(erow))
    kinds.append(np.full(len(erow), "employee", dtype=object))
    subject_ids.append(employees["employee_id"][erow])
    orgs_idx.append(employees["org_index"][erow])
    sent.append(dates)
    summaries.append(
        [
            EMPLOYEE_SUBJECTS[t].format(
                name=f"{employees['forename'][e]} {employees['surname'][e]}"
            )
            for t, e in zip(templates, erow)
        ]
    )
    kind = np.concatenate(kinds)
    subject = np.concatenate(subject_ids)
    org_index = np.concatenate(orgs_idx)
    sent_on = np.concatenate(sent)
    summary = np.array([s for part in summaries for s in part], dtype=object)
    channel = CHANNELS[rng.choice(len(CHANNELS), size=len(kind), p=CHANNEL_WEIGHTS)]
    order = np.lexsort((subject.astype(str), kind.astype(str), sent_on, org_index))
    kind, subject, org_index, sent_on, summary, channel = (
        kind[order],
        subject[order],
        org_index[order],
        sent_on[order],
        summary[order],
        channel[order],
    )
    number = np.zeros(len(kind), dtype=np.int64)
    for o in np.unique(org_index):
        mask = org_index == o
        number[mask] = np.arange(1, int(mask.sum()) + 1)
    return {
        "org_index": org_index,
        "correspondence_id": np.array([f"M{k:07d}" for k in number], dtype=object),
        "subject_kind": kind,
        "subject_id": subject,
        "sent_on": sent_on,
        "channel": channel,
        "summary": summary,
    }


def build_setup_imports(
    pupils: Pupils, orgs: list[Organisation], config: GeneratorConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Setup-file rows: one JSON payload per pupil row of the file the school sent."""
    out: dict[str, list[Any]] = {
        k: []
        for k in (
            "org_index",
            "import_id",
            "file_name",
            "received_on",
            "processed_on",
            "row_number",
            "payload",
        )
    }
    group_by_age = [{age: code for code, age in org.year_groups} for org in orgs]
    for org in orgs:
        files = [(f"setup_pupils_{org.organisation_id.lower()}.csv", org.contract_start, "all")]
        current = config.current_academic_year
        intake_day = date(current, 8, 26)
        if org.data_end == config.extract_date and org.contract_start < intake_day <= org.data_end:
            files.append((f"new_starters_{current}.csv", intake_day, "starters"))
        for k, (file_name, received, kind) in enumerate(files, start=1):
            received = min(received + timedelta(days=int(rng.integers(0, 6))), org.data_end)
            processed = min(received + timedelta(days=int(rng.integers(0, 4))), org.data_end)
            day = np.datetime64(received, "D")
            mask = pupils.org_index == org.index
            if kind == "all":
                mask &= (pupils.admission_date <= day) & (pupils.last_on_roll >= day)
            else:
                first = np.datetime64(academic_year_calendar(current).school_days[0], "D")
                mask &= (pupils.admission_date >= np.datetime64(date(current, 9, 1), "D")) & (
                    pupils.admission_date <= first + np.timedelta64(3, "D")
                )
            rows = np.flatnonzero(mask)
            ref_year = int(academic_years_of(np.array([day]))[0]) if kind == "all" else current
            for number, i in enumerate(rows, start=1):
                payload = {
                    "upn": pupils.upn[i],
                    "forename": pupils.forename[i],
                    "surname": pupils.surname[i],
                    "date_of_birth": str(pupils.date_of_birth[i]),
                    "gender": pupils.gender[i],
                    "year_group": group_by_age[org.index].get(
                        ref_year - int(pupils.birth_cohort[i])
                    ),
                    "admission_date": str(pupils.admission_date[i]),
                    "postcode": pupils.postcode[i],
                }
                out["org_index"].append(org.index)
                out["import_id"].append(f"IMP{k:04d}")
                out["file_name"].append(file_name)
                out["received_on"].append(received)
                out["processed_on"].append(processed)
                out["row_number"].append(number)
                out["payload"].append(json.dumps(payload, ensure_ascii=False))
    return {
        "org_index": np.array(out["org_index"], dtype=np.int64),
        "import_id": np.array(out["import_id"], dtype=object),
        "file_name": np.array(out["file_name"], dtype=object),
        "received_on": np.array(out["received_on"], dtype="datetime64[D]"),
        "processed_on": np.array(out["processed_on"], dtype="datetime64[D]"),
        "row_number": np.array(out["row_number"], dtype=np.int64),
        "payload": np.array(out["payload"], dtype=object),
    }
