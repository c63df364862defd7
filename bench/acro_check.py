"""An independent check of the published marts: ACRO re-tabulates every mart from pupil rows.

ACRO ("Automatic Checking of Research Outputs", the SACRO project's checker used by UK
trusted research environments; package ``acro``) knows nothing of our suppression macro. For
each mart this module rebuilds the mart's cells from the pupil-level rows the mart is built
from (the intermediate models), asks ACRO's ``crosstab`` to check them with the project's
thresholds, and lists every cell ACRO marks that the mart publishes:

- a cell's pupils: a frequency table (key stage x group value), ACRO's threshold check at
  var ``min_cell_size``;
- a rate of a binary outcome (persistent / severe absence, expected / high standard): a
  frequency table of group x outcome at var ``min_numerator``, so ACRO checks the pupils with
  the outcome and the pupils without it;
- a rate of sessions (attendance, overall / authorised / unauthorised absence): the sum of
  the pupils' sessions, ACRO's threshold (at ``min_cell_size``), nk (n = 2, k =
  ``dominance_top_two_share``) and p-ratio (``dominance_p_ratio``) checks;
- an average score: the mean, ACRO's threshold at ``min_average_size`` and its dominance
  checks; a progress average (scores above and below zero, where ACRO says dominance is not
  defined) a frequency table at ``min_average_size``;
- service usage: organisations are the contributors (threshold at
  ``min_organisations_per_cell``, dominance of each sum over organisations).

Zeros: ACRO 1.0.2 marks a frequency cell of 0 under its threshold check and a sum of 0 under
its p-ratio check (its code's own comment calls top1 = 0 non-disclosive), whatever
``zeros_are_disclosive`` says. We configure ``zeros_are_disclosive: False`` (a 0% rate of a
group of ``min_class_size`` or more is not disclosive; our class rule covers smaller groups)
and report such marks apart, as ``zero_marks``, for the caller to hold to the class rule.

Used by tests/python/test_marts_acro.py (every build of the synthetic trust) and by
bench/disclosure.py (the before / after figures in docs/analysts.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from tinytracker.core import paths

# ACRO counts zeros as non-disclosive for us; the class rule is checked on the marts.
ZEROS_ARE_DISCLOSIVE = False
PARTITION_SEPARATOR = " | "


@dataclass(frozen=True)
class Thresholds:
    """The project's disclosure thresholds (dbt vars), as ACRO's risk appetite."""

    min_cell_size: int
    min_numerator: int
    min_class_size: int
    min_average_size: int
    min_organisations: int
    top_two_share: float
    p_ratio: float

    @classmethod
    def from_project(cls, overrides: dict[str, object] | None = None) -> Thresholds:
        """The vars of dbt_project.yml, with the same ``--vars`` overrides a build used."""
        project = yaml.safe_load((paths.PROJECT_DIR / "dbt_project.yml").read_text())
        values = {**project["vars"], **(overrides or {})}
        return cls(
            min_cell_size=int(values["min_cell_size"]),
            min_numerator=int(values["min_numerator"]),
            min_class_size=int(values["min_class_size"]),
            min_average_size=int(values["min_average_size"]),
            min_organisations=int(values["min_organisations_per_cell"]),
            top_two_share=float(values["dominance_top_two_share"]),
            p_ratio=float(values["dominance_p_ratio"]),
        )


@dataclass(frozen=True)
class Mark:
    """One cell ACRO marks: the mart cell (``key`` in the mart's key columns), the published
    column it stands behind, ACRO's checks, the cell's figure in ACRO's table (a count, sum or
    mean), how many rows (pupils, or organisations) it comes from, the kind of table, and
    for a binary outcome which side (with the outcome: True) the count is of."""

    mart: str
    key: tuple[object, ...]
    column: str
    checks: str
    value: float
    size: int
    kind: str
    outcome: bool | None = None  # for a share: the side of the outcome the count is

    @property
    def is_zero(self) -> bool:
        """ACRO's zero case (module docstring): only its threshold check on a count of 0, or
        only its p-ratio check on a sum or mean of 0; never a small or dominated cell."""
        if self.value != 0:
            return False
        only = "PPercentCheck;" if self.kind in ("sum", "mean") else "MinimumThresholdCheck;"
        return self.checks == only


@dataclass(frozen=True)
class Table:
    """One ACRO table per group type: ``kind`` is count, share, sum, mean; ``value`` the
    pupil-row column it reads (the outcome for a share); ``column`` the mart column it checks;
    ``threshold`` the name of the Thresholds field ACRO's threshold check uses."""

    kind: str
    value: str | None
    column: str
    threshold: str


@dataclass(frozen=True)
class MartShape:
    """How a mart's cells come from pupil rows: the SQL of the rows (one row per pupil and
    group, breakdown 'all' added here), the cell key columns, and the tables to check."""

    rows_sql: str
    partition: tuple[str, ...]
    breakdown: str | None
    grouped: bool
    tables: tuple[Table, ...]


MARTS: dict[str, MartShape] = {
    "fct_attendance_by_group": MartShape(
        rows_sql="""
            select attendance.organisation_id, attendance.academic_year, attendance.term,
                groups.key_stage, groups.group_type, groups.group_value,
                attendance.attended_sessions, attendance.absence_sessions,
                attendance.authorised_absence_sessions,
                attendance.unauthorised_absence_sessions,
                attendance.is_persistently_absent, attendance.is_severely_absent
            from intermediate.int_pupil_attendance_summarised as attendance
            inner join intermediate.int_pupil_years_grouped as groups
                on attendance.pupil_key = groups.pupil_key
                and attendance.academic_year = groups.academic_year
            where attendance.possible_sessions > 0""",
        partition=("organisation_id", "academic_year", "term"),
        breakdown="key_stage",
        grouped=True,
        tables=(
            Table("count", None, "pupil_count", "min_cell_size"),
            Table("share", "is_persistently_absent", "persistent_absence_rate", "min_numerator"),
            Table("share", "is_severely_absent", "severe_absence_rate", "min_numerator"),
            Table("sum", "attended_sessions", "attendance_rate", "min_cell_size"),
            Table("sum", "absence_sessions", "overall_absence_rate", "min_cell_size"),
            Table("sum", "authorised_absence_sessions", "authorised_absence_rate", "min_cell_size"),
            Table(
                "sum",
                "unauthorised_absence_sessions",
                "unauthorised_absence_rate",
                "min_cell_size",
            ),
        ),
    ),
    "fct_attainment_by_group": MartShape(
        rows_sql="""
            select outcomes.organisation_id, outcomes.academic_year, outcomes.key_stage,
                outcomes.measure, groups.group_type, groups.group_value, outcomes.score,
                outcomes.is_expected_standard, outcomes.is_high_standard
            from intermediate.int_assessment_outcomes_evaluated as outcomes
            inner join intermediate.int_pupil_years_grouped as groups
                on outcomes.pupil_key = groups.pupil_key
                and outcomes.academic_year = groups.academic_year""",
        partition=("organisation_id", "academic_year", "key_stage", "measure"),
        breakdown=None,
        grouped=True,
        tables=(
            Table("count", None, "pupil_count", "min_cell_size"),
            Table("share", "is_expected_standard", "expected_standard_rate", "min_numerator"),
            Table("share", "is_high_standard", "high_standard_rate", "min_numerator"),
            Table("mean", "score", "average_score", "min_average_size"),
        ),
    ),
    "fct_progress_by_group": MartShape(
        rows_sql="""
            select progress.organisation_id, progress.academic_year, progress.subject,
                groups.group_type, groups.group_value, progress.progress_score
            from intermediate.int_ks2_progress_scored as progress
            inner join intermediate.int_pupil_years_grouped as groups
                on progress.pupil_key = groups.pupil_key
                and progress.academic_year = groups.academic_year""",
        partition=("organisation_id", "academic_year", "subject"),
        breakdown=None,
        grouped=True,
        tables=(
            Table("count", None, "pupil_count", "min_cell_size"),
            Table("count", None, "average_progress_score", "min_average_size"),
        ),
    ),
    "fct_service_usage": MartShape(
        rows_sql="""
            select academic_year, organisation_type, pupil_count,
                attendance_sessions_recorded, assessments_recorded
            from intermediate.int_organisation_years_summarised""",
        partition=("academic_year",),
        breakdown="organisation_type",
        grouped=False,
        tables=(
            Table("count", None, "organisation_count", "min_organisations"),
            Table("sum", "pupil_count", "pupil_count", "min_organisations"),
            Table(
                "sum",
                "attendance_sessions_recorded",
                "attendance_sessions_recorded",
                "min_organisations",
            ),
            Table("sum", "assessments_recorded", "assessments_recorded", "min_organisations"),
        ),
    ),
}


def acro_session(thresholds: Thresholds) -> Any:
    """An ACRO session with the project's risk appetite (its threshold is set per table)."""
    import acro  # a dev dependency: the library never needs it

    for name in ("acro", "acro:records"):
        logging.getLogger(name).setLevel(logging.WARNING)
    session = acro.ACRO(suppress=False)
    session.config.update(
        {
            "safe_nk_n": 2,
            "safe_nk_k": thresholds.top_two_share,
            "safe_pratio_p": thresholds.p_ratio,
            "zeros_are_disclosive": ZEROS_ARE_DISCLOSIVE,
            "check_missing_values": False,
        }
    )
    return session


def pupil_rows(con: duckdb.DuckDBPyConnection, shape: MartShape) -> pd.DataFrame:
    """The mart's pupil rows, each again under breakdown 'all' (the mart's total rows)."""
    rows = con.execute(shape.rows_sql).df()
    if shape.breakdown:
        rows = pd.concat([rows, rows.assign(**{shape.breakdown: "all"})], ignore_index=True)
    if not shape.grouped:
        rows = rows.assign(group_type="all", group_value="all")
    return rows


def published(con: duckdb.DuckDBPyConnection, mart: str, shape: MartShape) -> dict[str, set]:
    """{column: keys of the cells whose value in that column is published}."""
    keys = mart_key(shape)
    columns = {table.column for table in shape.tables}
    frame = con.execute(f"select * from marts.{mart} where not is_suppressed").df()
    return {
        column: {tuple(row) for row in frame.loc[frame[column].notna(), list(keys)].to_numpy()}
        for column in columns
    }


def mart_key(shape: MartShape) -> tuple[str, ...]:
    """The mart's key columns in the order Mark.key uses."""
    breakdown = (shape.breakdown,) if shape.breakdown else ()
    groups = ("group_type", "group_value") if shape.grouped else ()
    return shape.partition + breakdown + groups


def check_mart(
    session: Any, thresholds: Thresholds, mart: str, shape: MartShape, rows: pd.DataFrame
) -> Iterator[Mark]:
    """Every cell ACRO marks in the mart's tables (published or not), one Mark each."""
    # one label per partition: ACRO tabulates every combination of its row labels
    # (dropna=False), and organisations x years x measures would be mostly empty
    label = rows[shape.partition[0]].astype(str)
    for column in shape.partition[1:]:
        label = label + PARTITION_SEPARATOR + rows[column].astype(str)
    rows = rows.assign(partition=label)
    row_keys = ["partition"] + ([shape.breakdown] if shape.breakdown else [])
    for group_type, group_rows in rows.groupby("group_type", sort=True):
        for table in shape.tables:
            session.config["safe_threshold"] = getattr(thresholds, table.threshold)
            yield from _check_table(
                session, mart, shape, row_keys, str(group_type), group_rows, table
            )


def _check_table(
    session: Any,
    mart: str,
    shape: MartShape,
    row_keys: list[str],
    group_type: str,
    rows: pd.DataFrame,
    table: Table,
) -> Iterator[Mark]:
    if table.value is not None:
        rows = rows[rows[table.value].notna()]
    if rows.empty:
        return
    if table.kind == "share":
        index = [rows[key] for key in row_keys + ["group_value"]]
        columns = [rows[table.value].astype(bool)]
    else:
        index = [rows[key] for key in row_keys]
        columns = [rows["group_value"]]
    if table.kind in ("sum", "mean"):
        values = rows[table.value].astype(float)
        figures = session.crosstab(index, columns, values=values, aggfunc=table.kind)
    else:
        figures = session.crosstab(index, columns)
    outcome = session.results.results[f"output_{session.results.output_id - 1}"].outcome
    # ACRO tabulates every combination of the row labels (dropna=False): so do the sizes
    sizes = pd.crosstab(index, columns, dropna=False).reindex(
        index=figures.index, columns=figures.columns, fill_value=0
    )
    marked = outcome.stack(future_stack=True)
    marked = marked[marked != "ok"]
    found = pd.DataFrame(
        {
            "checks": marked,
            "value": figures.stack(future_stack=True).reindex(marked.index),
            "size": sizes.stack(future_stack=True).reindex(marked.index),
        }
    )
    for label, checks, value, size in found.itertuples():
        partition, *row, column_label = label
        outcome = None
        if table.kind == "share":
            *row, group_value = row
            outcome = bool(column_label)
        else:
            group_value = column_label
        groups = (group_type, group_value) if shape.grouped else ()
        key = (*partition.split(PARTITION_SEPARATOR), *row, *groups)
        yield Mark(
            mart, key, table.column, checks.strip(), float(value), int(size), table.kind, outcome
        )


def acro_marks(db: Path, thresholds: Thresholds) -> list[Mark]:
    """Every cell ACRO marks in any mart of the warehouse ``db`` (published or not)."""
    session = acro_session(thresholds)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            mark
            for mart, shape in MARTS.items()
            for mark in check_mart(session, thresholds, mart, shape, pupil_rows(con, shape))
        ]
    finally:
        con.close()


def published_marks(db: Path, marks: list[Mark]) -> tuple[list[Mark], list[Mark]]:
    """(marks on a published figure, the zero marks among them) of ``marks``: a zero mark is
    one on a count or sum of 0 (see the module docstring)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        shown = {mart: published(con, mart, shape) for mart, shape in MARTS.items()}
    finally:
        con.close()
    on_published = [mark for mark in marks if mark.key in shown[mark.mart][mark.column]]
    zeros = [mark for mark in on_published if mark.is_zero]
    return [mark for mark in on_published if not mark.is_zero], zeros
