"""The birth cohort: what anonymising a pupil keeps of their date of birth.

The spec keeps "year group / birth cohort (academic year of birth)" after anonymisation, so
``raw.pupils.birth_academic_year`` (the start year of the academic year, 1 September to
31 August, the pupil was born in) is recorded while the date of birth is still there: by the
loader for every pupil it lands, and by the engine for any pupil it is about to anonymise
that lacks one (a row landed before the column existed). This module is the one place the
derivation is written; ``stg_pupils`` reads the recorded value.
"""

from __future__ import annotations

import duckdb

from tinytracker.core.warehouse import scalar

BIRTH_COHORT_SQL = (
    "cast(extract(year from date_of_birth) as bigint) "
    "- case when extract(month from date_of_birth) < 9 then 1 else 0 end"
)


def record_birth_cohorts(con: duckdb.DuckDBPyConnection) -> int:
    """Set ``birth_academic_year`` from the date of birth wherever one is held.

    Rows without a date of birth (anonymised pupils) keep the cohort recorded before it was
    cleared; a corrected date of birth corrects the cohort. One set-based statement that only
    touches rows whose cohort differs, so repeating it changes nothing; returns the rows set.
    """
    return int(
        scalar(
            con,
            f"update raw.pupils set birth_academic_year = {BIRTH_COHORT_SQL} "
            f"where date_of_birth is not null "
            f"and birth_academic_year is distinct from ({BIRTH_COHORT_SQL})",
        )
    )
