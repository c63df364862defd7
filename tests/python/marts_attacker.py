"""An independent attacker on the published marts, for the marts' tests.

For each partition the attacker writes down every linear relation the published cells obey
(group values add up to their key stage's total, key stages add up to the all-key-stages
row, key-stage totals add up to the partition total; a combination with no row is a known
zero) and asks linear algebra, not the suppression macro, which withheld values follow.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

Cell = tuple[str, str, str]  # (row: key stage or organisation type, group_type, group_value)

MART_SHAPES = {
    # mart: (partition columns, breakdown column or None, grouped)
    "fct_attendance_by_group": (("organisation_id", "academic_year", "term"), "key_stage", True),
    "fct_attainment_by_group": (
        ("organisation_id", "academic_year", "key_stage", "measure"),
        None,
        True,
    ),
    "fct_progress_by_group": (("organisation_id", "academic_year", "subject"), None, True),
    "fct_service_usage": (("academic_year",), "organisation_type", False),
}
MART_MEASURES = {
    "fct_attendance_by_group": (
        "attendance_rate",
        "authorised_absence_rate",
        "unauthorised_absence_rate",
        "overall_absence_rate",
        "persistent_absence_rate",
        "severe_absence_rate",
    ),
    "fct_attainment_by_group": ("expected_standard_rate", "high_standard_rate", "average_score"),
    "fct_progress_by_group": (
        "average_progress_score",
        "progress_score_lower_ci",
        "progress_score_upper_ci",
    ),
    "fct_service_usage": (
        "organisation_count",
        "attendance_sessions_recorded",
        "assessments_recorded",
    ),
}


def partition_relations(cells: list[Cell]) -> list[dict[Cell, int]]:
    """Every additive relation between the cells of one partition, as {cell: coefficient}
    with sum(coefficient x value) = 0. Cells absent from ``cells`` are zero and drop out."""
    present = set(cells)
    rows = {row for row, _, _ in cells}
    parts = sorted(rows - {"all"})
    relations: list[dict[Cell, int]] = []

    def add(relation: dict[Cell, int]) -> None:
        relation = {cell: c for cell, c in relation.items() if cell in present}
        if relation:
            relations.append(relation)

    group_values: dict[str, set[str]] = {}
    for _, group_type, group_value in cells:
        if group_type != "all":
            group_values.setdefault(group_type, set()).add(group_value)
    for group_type, values in group_values.items():
        for row in rows:  # the values of a group type add up to the row's total
            relation = {(row, group_type, value): 1 for value in values}
            relation[(row, "all", "all")] = -1
            add(relation)
        if parts:  # each value's key stages add up to its all-key-stages cell
            for value in values:
                relation = {(row, group_type, value): 1 for row in parts}
                relation[("all", group_type, value)] = -1
                add(relation)
    if parts:  # the key-stage (organisation type) totals add up to the partition's total
        relation = {(row, "all", "all"): 1 for row in parts}
        relation[("all", "all", "all")] = -1
        add(relation)
    return relations


def determined_unknowns(cells: list[Cell], unknown: set[Cell]) -> set[Cell]:
    """The withheld cells whose value the relations fix: those whose unit vector lies in the
    row space of the relation matrix restricted to the unknowns (equivalently: every vector
    of that matrix's null space is zero there)."""
    order = sorted(unknown)
    if not order:
        return set()
    index = {cell: i for i, cell in enumerate(order)}
    relations = partition_relations(cells)
    matrix = np.zeros((max(len(relations), 1), len(order)))
    for r, relation in enumerate(relations):
        for cell, coefficient in relation.items():
            if cell in index:
                matrix[r, index[cell]] = coefficient
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    if null_space.shape[0] == 0:
        return set(order)
    norms = np.linalg.norm(null_space, axis=0)
    return {cell for cell, norm in zip(order, norms) if norm < 1e-9}


def published_partitions(
    db: Path,
    mart: str,
    value_column: str,
) -> dict[tuple[object, ...], dict[Cell, float | None]]:
    """{partition: {cell: published value or None when withheld}} for one value column."""
    partition_by, breakdown, grouped = MART_SHAPES[mart]
    row = breakdown or "'all'"  # without groups the organisation types are the rows
    groups = "group_type, group_value" if grouped else "'all', 'all'"
    con = duckdb.connect(str(db), read_only=True)
    try:
        records = con.execute(
            f"select {', '.join(partition_by)}, {row}, {groups}, "
            f"case when not is_suppressed then {value_column} end "
            f"from marts.{mart}"
        ).fetchall()
    finally:
        con.close()
    partitions: dict[tuple[object, ...], dict[Cell, float | None]] = {}
    width = len(partition_by)
    for record in records:
        cell = (str(record[width]), str(record[width + 1]), str(record[width + 2]))
        partitions.setdefault(tuple(record[:width]), {})[cell] = record[width + 3]
    return partitions


def recoverable_cells(
    db: Path,
    mart: str,
    value_column: str,
) -> list[tuple[tuple[object, ...], Cell]]:
    """(partition, cell) for every withheld value the published ones determine."""
    found = []
    for partition, values in published_partitions(db, mart, value_column).items():
        cells = list(values)
        # the relations must hold on what is published, or the attacker models the wrong mart
        if value_column == "pupil_count":
            for relation in partition_relations(cells):
                if all(values[c] is not None for c in relation):
                    assert sum(k * values[c] for c, k in relation.items()) == 0, (
                        mart,
                        partition,
                        relation,
                    )
        unknown = {cell for cell, value in values.items() if value is None}
        found += [(partition, cell) for cell in sorted(determined_unknowns(cells, unknown))]
    return found
