"""No withheld figure of the synthetic trust's marts can be solved from the published ones.

The attacker (tests/python/marts_attacker.py) is independent of the suppression macro: it
writes down every linear relation of each partition and solves them.
"""

from __future__ import annotations

import pytest
from marts_attacker import (
    MART_MEASURES,
    MART_SHAPES,
    determined_unknowns,
    published_partitions,
    recoverable_cells,
)

from conftest import SyntheticTemplate


def test_attacker_solves_a_chain_that_no_single_line_gives_away() -> None:
    """The attacker is not toothless. The pattern the line-by-line rule published on the
    synthetic trust (ORG001 2024/25 spring): every line hides two or more cells, but EYFS
    holds only SEN 'none' pupils, so that cell is the EYFS total, and KS1's SEN K count
    follows from the key-stage totals and the 'none' column. With one EYFS pupil on SEN
    support the chain breaks and nothing follows."""
    totals = [
        ("EYFS", "all", "all"),
        ("KS1", "all", "all"),
        ("KS2", "all", "all"),
        ("all", "all", "all"),
    ]
    sen = [
        (row, "sen", value)
        for row, value in [
            ("EYFS", "none"),
            ("KS1", "K"),
            ("KS1", "none"),
            ("KS2", "E"),
            ("KS2", "K"),
            ("KS2", "none"),
            ("all", "E"),
            ("all", "K"),
            ("all", "none"),
        ]
    ]
    withheld = {
        ("EYFS", "all", "all"),
        ("KS1", "all", "all"),
        ("EYFS", "sen", "none"),
        ("KS1", "sen", "K"),
        ("KS1", "sen", "none"),
        ("KS2", "sen", "K"),
        ("KS2", "sen", "E"),
        ("all", "sen", "K"),
        ("all", "sen", "E"),
    }
    assert determined_unknowns(totals + sen, withheld) == {("KS1", "sen", "K")}
    eyfs_k = ("EYFS", "sen", "K")
    assert determined_unknowns(totals + sen + [eyfs_k], withheld | {eyfs_k}) == set()


@pytest.mark.parametrize("mart", sorted(MART_SHAPES))
def test_no_withheld_pupil_count_can_be_solved_from_the_published_cells(
    synthetic_template: SyntheticTemplate, mart: str
) -> None:
    assert recoverable_cells(synthetic_template.db, mart, "pupil_count") == []


@pytest.mark.parametrize(
    "mart, measure",
    sorted((mart, measure) for mart, measures in MART_MEASURES.items() for measure in measures),
)
def test_no_withheld_measure_can_be_solved_from_its_complement_or_total(
    synthetic_template: SyntheticTemplate, mart: str, measure: str
) -> None:
    """A measure withheld on its own (e.g. an average over fewer than min_cell_size scored
    pupils) has the same relations between its numerators as the counts: none may follow."""
    assert recoverable_cells(synthetic_template.db, mart, measure) == []


def test_fsm_and_disadvantaged_groups_are_withheld_alike(
    synthetic_template: SyntheticTemplate,
) -> None:
    """Disadvantaged is FSM today (same pupils, same figures): a cell withheld in one group
    type but published in the other would be read off the other, so the two must match."""
    compared = 0
    for mart in ("fct_attendance_by_group", "fct_attainment_by_group", "fct_progress_by_group"):
        patterns: dict[str, dict[tuple[object, ...], object]] = {"fsm": {}, "disadvantaged": {}}
        for group_type, value in (("fsm", "fsm"), ("disadvantaged", "disadvantaged")):
            for column in ("pupil_count", *MART_MEASURES[mart]):
                for partition, cells in published_partitions(
                    synthetic_template.db, mart, column
                ).items():
                    for (row, cell_group_type, group_value), number in cells.items():
                        if cell_group_type == group_type:
                            key = (column, partition, row, group_value == value)
                            patterns[group_type][key] = number
        assert patterns["fsm"] == patterns["disadvantaged"], mart
        compared += len(patterns["fsm"])
    assert compared
