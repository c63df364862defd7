"""``--inject-errors N``: deliberately bad rows so a demo shows the quarantine working.

Each injected row is a *new* row (the clean rows are untouched) that breaks exactly one
contract rule, so loading the extract must quarantine exactly N rows (a duplicate key is
the second row with that key). Kinds rotate in the order of ``KINDS`` so any N spreads over
the files; rows go to organisations whose MIS permission is granted (a revoked organisation is
refused whole, so its rows would never reach the quarantine).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tinytracker.core.contract import FILES_BY_NAME
from tinytracker.core.upn import CHECK_TABLE
from tinytracker.generator.calendar import school_days_array
from tinytracker.generator.config import GeneratorConfig
from tinytracker.generator.organisations import Organisation
from tinytracker.generator.pupils import Pupils
from tinytracker.generator.reference import new_code_set_from

KINDS: tuple[tuple[str, str], ...] = (
    ("pupils", "bad_upn"),
    ("attendance_sessions", "mark_not_valid_on_date"),
    ("pupils", "unknown_code"),
    ("attendance_sessions", "orphan_pupil"),
    ("pupils", "dates_out_of_order"),
    ("attendance_sessions", "duplicate_key"),
    ("employees", "bad_date"),
    ("pupil_contacts", "missing_required"),
    ("assessments", "bad_assessment_result"),
    ("sen_records", "unknown_code"),
    ("correspondence", "unknown_code"),
    ("reports", "orphan_pupil"),
    ("pupils", "bad_date"),
    ("setup_imports", "bad_integer"),
    ("attendance_sessions", "session_outside_enrolment"),
    ("pupils", "duplicate_upn"),
    ("reports", "orphan_employee"),
    ("correspondence", "orphan_subject"),
)
NO_SUCH_PUPIL = "P999999"
NO_SUCH_EMPLOYEE = "E0000000"
"""Ids the generator never gives (pupils are P + 6 digits, employees E + 5 digits)."""


@dataclass(frozen=True)
class InjectedError:
    """What was injected where, for the summary (not written into the extract)."""

    file: str
    rule: str
    organisation_id: str
    detail: str


def text_row(table: dict[str, np.ndarray], i: int, name: str, org_ids: list[str]) -> dict[str, Any]:
    """Row ``i`` of a generator table as the contract's text values."""
    row: dict[str, Any] = {"organisation_id": org_ids[int(table["org_index"][i])]}
    for column in FILES_BY_NAME[name].columns[1:]:
        value = table[column.name][i]
        if isinstance(value, np.datetime64):
            row[column.name] = None if np.isnat(value) else str(value)
        elif isinstance(value, (bool, np.bool_)):
            row[column.name] = "true" if value else "false"
        elif value is None:
            row[column.name] = None
        else:
            row[column.name] = str(value)
    return row


def inject(
    n: int,
    tables: dict[str, dict[str, np.ndarray]],
    pupils: Pupils,
    orgs: list[Organisation],
    config: GeneratorConfig,
    rng: np.random.Generator,
) -> tuple[dict[str, list[dict]], list[dict], list[InjectedError]]:
    """Build ``n`` bad rows: per-file rows with ``_ord`` and attendance rows with sort keys."""
    org_ids = [o.organisation_id for o in orgs]
    granted = np.array([o.mis_permission == "granted" for o in orgs])
    rows: dict[str, list[dict]] = {}
    attendance: list[dict] = []
    log: list[InjectedError] = []
    days, _inset = school_days_array(config.window_start_year, config.current_academic_year)
    days = days[days <= np.datetime64(config.extract_date, "D")]
    window_start = np.datetime64(config.window_start, "D")
    first = np.maximum(pupils.admission_date, window_start)
    last = np.minimum(pupils.last_on_roll, np.datetime64(config.extract_date, "D"))
    attending = np.flatnonzero(
        (first + np.timedelta64(14, "D") <= last) & granted[pupils.org_index]
    )

    def pick(table: dict[str, np.ndarray], where: np.ndarray | None = None) -> int:
        mask = granted[table["org_index"]]
        candidates = np.flatnonzero(mask if where is None else mask & where)
        return int(candidates[rng.integers(0, len(candidates))])

    def add(
        name: str,
        table: dict[str, np.ndarray],
        i: int,
        k: int,
        changes: dict,
        rule: str,
        detail: str,
    ) -> None:
        row = text_row(table, i, name, org_ids)
        row.update(changes)
        row["_ord"] = i + 0.5 + k * 1e-6
        rows.setdefault(name, []).append(row)
        log.append(InjectedError(name, rule, row["organisation_id"], detail))

    for k in range(n):
        name, rule = KINDS[k % len(KINDS)]
        serial = 90000 + k
        if name == "attendance_sessions":
            i = int(attending[rng.integers(0, len(attending))])
            org = orgs[int(pupils.org_index[i])]
            base = {
                "org_index": org.index,
                "organisation_id": org.organisation_id,
                "pupil_id": pupils.pupil_id[i],
                "pupil_idx": i,
                "session": "AM",
                "sno": 0,
            }
            if rule == "mark_not_valid_on_date":
                day = first[i] + np.timedelta64(7, "D")
                day = day + np.timedelta64((5 - (day.astype(int) - 4) % 7) % 7, "D")  # Saturday
                code = "K" if day < np.datetime64(new_code_set_from(), "D") else "H"
                base.update(session_date=str(day), ord_date=day.astype(date), mark=code)
                detail = f"{code} on {day}, not in the code set in force that day"
            elif rule == "orphan_pupil":
                day = days[np.searchsorted(days, first[i])]
                base.update(
                    pupil_id=NO_SUCH_PUPIL,
                    pupil_idx=10**12 + k,
                    session_date=str(day),
                    ord_date=day.astype(date),
                    mark="/",
                )
                detail = f"attendance for pupil {NO_SUCH_PUPIL}, who has no pupil row"
            elif rule == "session_outside_enrolment":
                # a school day of the window before a pupil's admission (joiners, new cohorts)
                late = attending[pupils.admission_date[attending] > days[0]]
                i = int(late[rng.integers(0, len(late))])
                org = orgs[int(pupils.org_index[i])]
                day = days[np.searchsorted(days, pupils.admission_date[i]) - 1]
                base.update(
                    org_index=org.index,
                    organisation_id=org.organisation_id,
                    pupil_id=pupils.pupil_id[i],
                    pupil_idx=i,
                    session_date=str(day),
                    ord_date=day.astype(date),
                    mark="/",
                )
                detail = (
                    f"mark for {pupils.pupil_id[i]} on {day}, before their admission on "
                    f"{pupils.admission_date[i]}"
                )
            else:
                day = days[np.searchsorted(days, first[i])]
                base.update(session_date=str(day), ord_date=day.astype(date), mark="O")
                detail = f"second AM mark for {pupils.pupil_id[i]} on {day}"
            attendance.append(base)
            log.append(InjectedError(name, rule, org.organisation_id, detail))
            continue
        table = tables[name]
        i = pick(table)
        if name == "pupils":
            new_id = f"P{serial + 800000:06d}"
            if rule == "bad_upn":
                upn = table["upn"][i]
                wrong = CHECK_TABLE[(CHECK_TABLE.index(upn[0]) + 1) % 23]
                add(
                    name,
                    table,
                    i,
                    k,
                    {"pupil_id": new_id, "upn": wrong + upn[1:]},
                    rule,
                    f"{new_id}: UPN {wrong + upn[1:]} has the wrong check letter",
                )
            elif rule == "unknown_code":
                add(
                    name,
                    table,
                    i,
                    k,
                    {"pupil_id": new_id, "upn": None, "ethnicity": "XXXX"},
                    rule,
                    f"{new_id}: ethnicity XXXX is not a DfE code",
                )
            elif rule == "dates_out_of_order":
                admission = table["admission_date"][i]
                add(
                    name,
                    table,
                    i,
                    k,
                    {
                        "pupil_id": new_id,
                        "upn": None,
                        "leaving_date": str(admission - np.timedelta64(30, "D")),
                    },
                    rule,
                    f"{new_id}: leaving_date 30 days before admission_date",
                )
            elif rule == "duplicate_upn":
                i = pick(table, table["upn"] != None)  # noqa: E711 - elementwise on objects
                add(
                    name,
                    table,
                    i,
                    k,
                    {"pupil_id": new_id},
                    rule,
                    f"{new_id}: UPN {table['upn'][i]} is already {table['pupil_id'][i]}'s",
                )
            else:
                add(
                    name,
                    table,
                    i,
                    k,
                    {"pupil_id": new_id, "upn": None, "date_of_birth": "31/06/2015"},
                    rule,
                    f"{new_id}: date_of_birth 31/06/2015 is not YYYY-MM-DD",
                )
        elif name == "employees":
            new_id = f"E9{serial % 10000:04d}"
            add(
                name,
                table,
                i,
                k,
                {"employee_id": new_id, "start_date": "2019-02-30"},
                rule,
                f"{new_id}: start_date 2019-02-30 does not exist",
            )
        elif name == "pupil_contacts":
            add(name, table, i, k, {"contact_id": None}, rule, "contact row without contact_id")
        elif name == "assessments":
            candidates = np.flatnonzero(
                granted[table["org_index"]] & (table["assessment"] == "EYFSP_E01")
            )
            if len(candidates):
                i = int(candidates[rng.integers(0, len(candidates))])
            add(
                name,
                table,
                i,
                k,
                {"assessment": "MTC", "result": "31"},
                rule,
                "MTC result 31 is above the maximum 25",
            )
        elif name == "sen_records":
            start = table["start_date"][i] - np.timedelta64(1, "D")
            add(
                name,
                table,
                i,
                k,
                {"start_date": str(start), "primary_need": "XYZ"},
                rule,
                "primary_need XYZ is not a DfE need type",
            )
        elif name == "correspondence":
            new_id = f"M9{serial:06d}"
            if rule == "orphan_subject":
                add(
                    name,
                    table,
                    i,
                    k,
                    {
                        "correspondence_id": new_id,
                        "subject_kind": "pupil",
                        "subject_id": NO_SUCH_PUPIL,
                    },
                    rule,
                    f"{new_id}: about pupil {NO_SUCH_PUPIL}, who has no pupil row",
                )
            else:
                add(
                    name,
                    table,
                    i,
                    k,
                    {"correspondence_id": new_id, "channel": "fax"},
                    rule,
                    f"{new_id}: channel fax is not in the value set",
                )
        elif name == "reports":
            new_id = f"R9{serial:06d}"
            if rule == "orphan_employee":
                add(
                    name,
                    table,
                    i,
                    k,
                    {"report_id": new_id, "author_employee_id": NO_SUCH_EMPLOYEE},
                    rule,
                    f"{new_id}: written by {NO_SUCH_EMPLOYEE}, who has no employee row",
                )
            else:
                add(
                    name,
                    table,
                    i,
                    k,
                    {"report_id": new_id, "pupil_id": NO_SUCH_PUPIL},
                    rule,
                    f"{new_id}: report for pupil {NO_SUCH_PUPIL}, who has no pupil row",
                )
        elif name == "setup_imports":
            add(
                name, table, i, k, {"row_number": "two"}, rule, "row_number 'two' is not an integer"
            )
    return rows, attendance, log
