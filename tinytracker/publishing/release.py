"""Which mart rows an analyst may see, and when: closed periods only, each released once.

The marts are rebuilt every night. Publishing each night's marts would let anyone who keeps
two nights' copies subtract them: when one pupil joins or leaves a group, or one pupil's
marks change, the two versions of a cell differ by that one pupil, and the difference is
that pupil's figure (whether they were persistently absent, their sessions, their score),
whatever each version's own suppression. docs/analysts.md ("Published once, never
revised") has the measurement.

So the analyst copy follows a fixed cadence. A partition of a mart (the unit the suppression
macro protects as a whole: an organisation's term for attendance, an organisation's measure
in a year for attainment, a subject in a year for progress, a year for service usage) is
released the first time a publish runs at least ``SETTLE_DAYS`` after its period closed, and
is then frozen: later publishes copy the released rows unchanged, whatever the warehouse now
holds. Open periods are never published. No cell is ever published in two versions, so
nothing can be subtracted. The nightly build stays internal.

Periods close on fixed dates: autumn on 31 December; spring on 24 April (the spring term
ends the day before Easter Sunday, which is never later than 25 April); summer, the full
year and the yearly marts on 31 August.
"""

from __future__ import annotations

from dataclasses import dataclass

# Days after a period closes before it is released: late marks, corrected results and GCSE
# results (late August) arrive within them. Anything that arrives later stays internal.
SETTLE_DAYS = 30

# The release series, written into each published mart's table comment. Bump it when the
# disclosure rules or what a mart's figures mean change: the next publish then releases
# every closed period again, once, from the current build (a reader who kept the old series
# can compare the two, so this is for real changes, agreed with the data-protection officer).
# Series 2: issue 15's numerator, class, average-size and dominance rules.
RELEASE_SERIES = 2


def series_marker() -> str:
    """The sentence that ends each published mart's table comment."""
    return (
        f"Release series {RELEASE_SERIES}: closed periods only, each released once and "
        "never revised (docs/analysts.md)."
    )


@dataclass(frozen=True)
class ReleaseRule:
    """How one mart is released: its partition columns (released and frozen together) and
    the column holding the term, for marts published by term."""

    partition: tuple[str, ...]
    term_column: str | None = None


RELEASE_RULES: dict[str, ReleaseRule] = {
    "fct_attendance_by_group": ReleaseRule(("organisation_id", "academic_year", "term"), "term"),
    "fct_attainment_by_group": ReleaseRule(
        ("organisation_id", "academic_year", "key_stage", "measure")
    ),
    "fct_progress_by_group": ReleaseRule(("organisation_id", "academic_year", "subject")),
    "fct_service_usage": ReleaseRule(("academic_year",)),
}


def period_close_sql(rule: ReleaseRule, alias: str) -> str:
    """SQL (DuckDB) for the date the period of a row of ``alias`` closes."""
    start_year = f"cast(split_part({alias}.academic_year, '/', 1) as integer)"
    year_end = f"make_date({start_year} + 1, 8, 31)"
    if rule.term_column is None:
        return year_end
    term = f"{alias}.{rule.term_column}"
    return (
        f"case {term} when 'autumn' then make_date({start_year}, 12, 31) "
        f"when 'spring' then make_date({start_year} + 1, 4, 24) else {year_end} end"
    )


def releasable_sql(rule: ReleaseRule, alias: str) -> str:
    """SQL condition: the row's period closed at least SETTLE_DAYS before parameter $as_of."""
    return f"{period_close_sql(rule, alias)} + interval {SETTLE_DAYS} day <= $as_of"


def same_partition_sql(rule: ReleaseRule, left: str, right: str) -> str:
    """SQL condition: rows ``left`` and ``right`` are in the same partition."""
    return " and ".join(f"{left}.{column} = {right}.{column}" for column in rule.partition)
