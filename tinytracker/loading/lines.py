"""From a staged row's position to the line it has in the file.

DuckDB's reader keeps file order (the staging table's rowid), numbers *records* in its rejects
table (header = 1) and silently skips blank lines. A row's physical line is therefore its
position, plus the records skipped before it (malformed records and blank lines), plus the
newlines inside quoted values before it. Both adjustments are step functions of a few
thresholds, written as SQL so that no Python touches the rows.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

# Up to this many thresholds the step function is a CASE expression (a balanced tree of them,
# fast and sort-free); beyond it, an ASOF join against a small table.
MAX_CASE_THRESHOLDS = 512


@dataclass(frozen=True)
class StepFunction:
    """``f(x) = k`` of the greatest threshold ``<= x`` (0 below the first threshold)."""

    thresholds: tuple[tuple[int, int], ...]
    """Sorted, unique (threshold, k) pairs with k increasing."""

    def as_case(self, x: str) -> str:
        """A balanced CASE tree over the thresholds (depth log2(n))."""
        return _case_tree(x, list(self.thresholds), 0)

    def values_sql(self) -> str:
        """The thresholds as a ``values`` list for an ASOF join table."""
        return ", ".join(f"({t}, {k})" for t, k in self.thresholds)

    @property
    def small(self) -> bool:
        return len(self.thresholds) <= MAX_CASE_THRESHOLDS


def _case_tree(x: str, pairs: list[tuple[int, int]], below: int) -> str:
    if not pairs:
        return str(below)
    middle = len(pairs) // 2
    threshold, k = pairs[middle]
    upper = _case_tree(x, pairs[middle + 1 :], k)
    lower = _case_tree(x, pairs[:middle], below)
    return f"(case when {x} >= {threshold} then {upper} else {lower} end)"


def _steps(points: list[tuple[int, int]]) -> StepFunction:
    """Group (threshold, rank) pairs by threshold, keeping the highest rank."""
    best: dict[int, int] = {}
    for threshold, rank in points:
        best[threshold] = max(rank, best.get(threshold, 0))
    return StepFunction(tuple(sorted(best.items())))


def skipped_records_steps(skipped_records: list[int]) -> StepFunction:
    """Records before a staged row that are not in the staging table.

    With skipped records s_1 < s_2 < ... (header = record 1, so s_j >= 2), the j-th skip has
    ``s_j - 1 - j`` staged rows before it; a staged row at 0-based position i sits at record
    ``i + 2 + f(i)``.
    """
    ordered = sorted(set(skipped_records))
    return _steps([(s - 1 - j, j) for j, s in enumerate(ordered, start=1)])


def record_to_line_steps(inner_newline_lines: list[int]) -> StepFunction:
    """Newlines inside quoted values before a record: line = record + f(record).

    A newline inside a quote that ends physical line q_j belongs to record q_j - (j - 1); every
    later record starts one line further down.
    """
    ordered = sorted(inner_newline_lines)
    return _steps([(q - (j - 1) + 1, j) for j, q in enumerate(ordered, start=1)])


def blank_line_records(blank_lines: list[int], inner_newline_lines: list[int]) -> list[int]:
    """DuckDB record numbers of blank physical lines (it counts them, then skips them)."""
    ordered_inner = sorted(inner_newline_lines)
    return [b - bisect_left(ordered_inner, b) for b in blank_lines]
