"""The code lists in ``seeds/reference/`` as the generator needs them.

The generator draws every code from the same seed files that dbt and the loader validate
against, so a clean extract can only contain codes the warehouse accepts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds" / "reference"


def read_seed(name: str) -> list[dict[str, str]]:
    """Rows of ``seeds/reference/<name>.csv`` as dicts of text."""
    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class AttendanceCode:
    code: str
    valid_from: date | None
    valid_to: date | None
    category: str

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@lru_cache(maxsize=1)
def attendance_codes() -> dict[str, AttendanceCode]:
    codes = {}
    for row in read_seed("attendance_codes"):
        codes[row["code"]] = AttendanceCode(
            row["code"],
            date.fromisoformat(row["valid_from"]) if row["valid_from"] else None,
            date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            row["category"],
        )
    return codes


@lru_cache(maxsize=1)
def new_code_set_from() -> date:
    """First day of the 2024 attendance code set (the latest ``valid_from`` in the seed)."""
    return max(c.valid_from for c in attendance_codes().values() if c.valid_from is not None)


@lru_cache(maxsize=1)
def year_group_ages() -> dict[str, int]:
    """Year group -> age on 31 August, in the seed's sort order (the generator follows the
    seed, so a correction there flows into date_of_birth without code changes)."""
    rows = sorted(read_seed("year_groups"), key=lambda r: int(r["sort_order"]))
    return {r["year_group"]: int(r["age_on_31_august"]) for r in rows}


@lru_cache(maxsize=1)
def ethnicity_extended_codes() -> dict[str, list[str]]:
    """Main ethnicity code -> its extended codes (excluding the main code itself)."""
    result: dict[str, list[str]] = {}
    for row in read_seed("ethnicity_codes"):
        if row["code"] != row["main_code"]:
            result.setdefault(row["main_code"], []).append(row["code"])
    return result


@lru_cache(maxsize=1)
def code_set(name: str) -> frozenset[str]:
    """Codes of a seed of its own (``language_codes`` ...) or of a ``value_sets`` value set."""
    if (SEEDS_DIR / f"{name}.csv").exists():
        rows = read_seed(name)
        key = "code" if "code" in rows[0] else next(iter(rows[0]))
        return frozenset(r[key] for r in rows)
    return frozenset(r["code"] for r in read_seed("value_sets") if r["value_set"] == name)
