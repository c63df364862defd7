"""What to generate: the options of ``tinytracker generate`` as one frozen value.

Every derived date (academic years, history start, organisation contract dates) is computed
from ``extract_date``, never from today, so the same options give the same bytes on any day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from tinytracker.core.errors import TinyTrackerError

DEFAULT_EXTRACT_DATE = date(2025, 7, 18)
"""Fixed default so that a default run is reproducible byte for byte on any day."""

MIN_ORGANISATIONS = 7
"""Seven organisations are needed to cover every contract state the retention rules test."""

MIN_PUPILS_PER_ORGANISATION = 10
"""Below this a school has too few pupils per year group to carry the edge-case leavers."""

HISTORY_YEARS = 6
"""Leavers are generated from this many academic years before the current one (2018/19 ->
leavers from July 2019 for the default extract date), whatever ``years`` is."""

FileFormat = Literal["csv", "parquet"]


def academic_year_start(day: date) -> int:
    """Calendar year in which the academic year containing ``day`` starts (1 Sep to 31 Aug)."""
    return day.year if day.month >= 9 else day.year - 1


def academic_year_label(start_year: int) -> str:
    """``2024`` -> ``2024/25``, the contract's academic_year format."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


@dataclass(frozen=True)
class GeneratorConfig:
    """Options of one generation run. ``validate`` raises TinyTrackerError for bad input."""

    out: Path
    organisations: int = 8
    pupils: int = 2000
    years: int = 3
    seed: int = 42
    extract_date: date = DEFAULT_EXTRACT_DATE
    file_format: FileFormat = "csv"
    inject_errors: int = 0

    def validate(self) -> None:
        if self.organisations < MIN_ORGANISATIONS:
            raise TinyTrackerError(
                f"--organisations must be at least {MIN_ORGANISATIONS} so that every "
                f"organisation state the retention rules need is present (got {self.organisations})"
            )
        if self.organisations > 999:
            raise TinyTrackerError("--organisations must be at most 999 (ids are ORG001..ORG999)")
        minimum = MIN_PUPILS_PER_ORGANISATION * self.organisations
        if self.pupils < minimum:
            raise TinyTrackerError(
                f"--pupils must be at least {minimum} ({MIN_PUPILS_PER_ORGANISATION} per "
                f"organisation) so every school has pupils in each year group (got {self.pupils})"
            )
        if not 1 <= self.years <= 15:
            raise TinyTrackerError(f"--years must be between 1 and 15 (got {self.years})")
        if self.inject_errors < 0:
            raise TinyTrackerError(f"--inject-errors must be 0 or more (got {self.inject_errors})")
        if not date(2005, 9, 1) <= self.extract_date <= date(2090, 8, 31):
            raise TinyTrackerError(
                "--extract-date must lie between 2005-09-01 and 2090-08-31 "
                f"(got {self.extract_date})"
            )
        if self.file_format not in ("csv", "parquet"):
            raise TinyTrackerError(f"--format must be csv or parquet (got {self.file_format})")
        if not 0 <= self.seed < 2**63:
            raise TinyTrackerError("--seed must be a non-negative integer below 2**63")

    @property
    def current_academic_year(self) -> int:
        """Start year of the academic year that contains the extract date."""
        return academic_year_start(self.extract_date)

    @property
    def window_start_year(self) -> int:
        """First academic year with attendance and assessments (``years`` years ending now)."""
        return self.current_academic_year - self.years + 1

    @property
    def history_start_year(self) -> int:
        """First academic year simulated: leavers go back this far even with ``years`` = 1."""
        return min(self.window_start_year, self.current_academic_year - HISTORY_YEARS)

    @property
    def window_start(self) -> date:
        return date(self.window_start_year, 9, 1)
