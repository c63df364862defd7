"""An independent checker agrees: ACRO marks no figure the marts publish.

bench/acro_check.py rebuilds every mart's cells from the pupil rows of the synthetic trust
and has ACRO (the SACRO project's checker, configured with the project's thresholds) check
them: pupils per cell, pupils on each side of a binary outcome, contributors to and
dominance of every sum and average. A published figure ACRO marks fails the test; so does a
published 0% or 100% that ACRO marks as a zero (its threshold check counts 0 as small) in a
group small enough for the class rule. The last test rebuilds the marts under the rules
before issue 15 and shows that ACRO then marks published figures: the check has teeth.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from bench.acro_check import Mark, Thresholds, acro_marks, published_marks
from tinytracker.core.dbt import run_dbt

from conftest import SYNTHETIC_AS_OF, SyntheticTemplate, point_environment_at

# ACRO's own pandas calls warn about pandas' next release; nothing this test can change
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

# The vars that reproduce the marts before issue 15 (pupils per cell and secondary
# suppression only); bench/disclosure.py reports the same comparison on a larger trust.
RULES_BEFORE = {
    "min_numerator": "1",
    "min_class_size": "0",
    "min_average_size": "5",
    "dominance_top_two_share": "3",
    "dominance_p_ratio": "-10",
}
# The outcome a group of fewer than min_class_size may not show for all of its pupils:
# the side of the rate whose count would then be zero.
ADVERSE_ZERO_SIDE = {
    "persistent_absence_rate": False,  # no pupil without it: all persistently absent
    "severe_absence_rate": False,
    "expected_standard_rate": True,  # no pupil with it: none at the expected standard
}


def published_pupil_count(db: Path, mark: Mark) -> int:
    """The published pupil count of the mart cell a mark is about."""
    from bench.acro_check import MARTS, mart_key

    keys = mart_key(MARTS[mark.mart])
    condition = " and ".join(f"{key} = ?" for key in keys)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            f"select pupil_count from marts.{mark.mart} where {condition}", list(mark.key)
        ).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def marks(synthetic_template: SyntheticTemplate) -> list[Mark]:
    return acro_marks(synthetic_template.db, Thresholds.from_project())


def test_acro_marks_no_published_figure_of_the_synthetic_trust(
    synthetic_template: SyntheticTemplate, marks: list[Mark]
) -> None:
    assert marks, "ACRO marks the small cells of the trust; the marts must withhold them"
    published, _ = published_marks(synthetic_template.db, marks)
    assert published == []


def test_no_published_zero_shows_a_small_group_sharing_an_adverse_outcome(
    synthetic_template: SyntheticTemplate, marks: list[Mark]
) -> None:
    _, zeros = published_marks(synthetic_template.db, marks)
    minimum = Thresholds.from_project().min_class_size
    for mark in zeros:
        if ADVERSE_ZERO_SIDE.get(mark.column) == mark.outcome:
            assert published_pupil_count(synthetic_template.db, mark) >= minimum, mark


def test_acro_marks_published_figures_under_the_rules_before_issue_15(
    synthetic_template: SyntheticTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(synthetic_template.db, db)
    point_environment_at(monkeypatch, tmp_path, db)
    assert run_dbt(SYNTHETIC_AS_OF, ["path:models/marts"], "run", extra_vars=RULES_BEFORE) == 0
    published, _ = published_marks(db, acro_marks(db, Thresholds.from_project()))
    assert {mark.column for mark in published} & {
        "persistent_absence_rate",
        "severe_absence_rate",
        "expected_standard_rate",
        "high_standard_rate",
        "average_score",
    }
