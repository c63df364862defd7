"""What the disclosure rules cost and what they stop, measured on a synthetic trust.

    .venv/bin/python bench/disclosure.py [--pupils 1500] [--out bench/out/disclosure]

The figures in docs/analysts.md ("What the rules cost", "Published once, never revised")
come from this script. It generates a synthetic trust (``tinytracker generate``, fixed seed),
loads and builds it once, then rebuilds the marts under three sets of dbt vars:

- ``open``: nothing withheld (every threshold off): what could be published at all;
- ``before``: the rules before issue 15 (pupils per cell and secondary suppression only;
  these vars reproduce that code's output exactly);
- ``after``: the project's defaults (dbt_project.yml).

For each mart and set it reports the share of cells withheld whole and the share of figures
(pupil counts and measures that exist in ``open``) withheld, and how many published figures
ACRO (bench/acro_check.py) marks. Then the differencing measurement: one pupil leaves the
FSM group between two nights; it reports what a reader recovers by subtracting the two
nights' marts, and what changes between the two nights' analyst copies (the release cadence
of tinytracker.publishing.release).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench.acro_check import MARTS, Thresholds, acro_marks, published_marks  # noqa: E402
from bench.differencing import one_pupil_leaves_fsm, subtract_nights  # noqa: E402

AS_OF = dt.date(2025, 10, 1)
RULE_SETS: dict[str, dict[str, object]] = {
    "open": {
        "min_cell_size": 1,
        "min_organisations_per_cell": 1,
        "min_numerator": 1,
        "min_class_size": 0,
        "min_average_size": 1,
        "dominance_top_two_share": 3,
        "dominance_p_ratio": -10,
    },
    "before": {
        "min_numerator": 1,
        "min_class_size": 0,
        "min_average_size": 5,
        "dominance_top_two_share": 3,
        "dominance_p_ratio": -10,
    },
    "after": {},
}
FIGURES = {
    "fct_attendance_by_group": (
        "pupil_count",
        "attendance_rate",
        "authorised_absence_rate",
        "unauthorised_absence_rate",
        "overall_absence_rate",
        "persistent_absence_rate",
        "severe_absence_rate",
    ),
    "fct_attainment_by_group": (
        "pupil_count",
        "expected_standard_rate",
        "high_standard_rate",
        "average_score",
    ),
    "fct_progress_by_group": (
        "pupil_count",
        "average_progress_score",
        "progress_score_lower_ci",
        "progress_score_upper_ci",
    ),
    "fct_service_usage": (
        "organisation_count",
        "pupil_count",
        "attendance_sessions_recorded",
        "assessments_recorded",
    ),
}


@dataclass(frozen=True)
class Cost:
    cells: int
    cells_withheld: int
    figures: int
    figures_withheld: int
    acro_marked: int


def point_environment(out: Path, db: Path) -> None:
    """Warehouse, dbt target and logs, and analyst copy in ``out``."""
    from tinytracker.core import paths

    os.environ.update(
        {
            paths.DB_ENV: str(db),
            "DBT_TARGET_PATH": str(out / "target"),
            "DBT_LOG_PATH": str(out / "logs"),
            "TINYTRACKER_ANALYTICS_DB": str(out / "analytics.duckdb"),
        }
    )


def prepare(out: Path, pupils: int, seed: int) -> Path:
    """Generate, load and build a synthetic trust in ``out``; returns the warehouse."""
    from tinytracker.core.dbt import run_dbt_build
    from tinytracker.generator import GeneratorConfig, generate_extract
    from tinytracker.loading.run import load_extract

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    db = out / "warehouse.duckdb"
    point_environment(out, db)
    organisations = max(7, pupils // 200)
    config = GeneratorConfig(
        out=out / "extract", organisations=organisations, pupils=pupils, years=3, seed=seed
    )
    generate_extract(config)
    load_extract(out / "extract")
    if run_dbt_build(AS_OF) != 0:
        raise SystemExit("the build of the synthetic trust failed")
    return db


def rebuild_marts(db: Path, rule_vars: dict[str, object]) -> None:
    from tinytracker.core.dbt import run_dbt

    extra = {name: str(value) for name, value in rule_vars.items()}
    if run_dbt(AS_OF, ["path:models/marts"], command="run", extra_vars=extra) != 0:
        raise SystemExit(f"the marts did not build with {rule_vars}")


def published_figures(db: Path) -> dict[str, dict[tuple, dict[str, object]]]:
    """{mart: {cell key: {figure: value (None when withheld), '_cell': is_suppressed}}}."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        result = {}
        for mart, shape in MARTS.items():
            keys = list(shape.partition) + ([shape.breakdown] if shape.breakdown else [])
            keys += ["group_type", "group_value"] if shape.grouped else []
            columns = ", ".join([*keys, *FIGURES[mart], "is_suppressed"])
            rows = con.execute(f"select {columns} from marts.{mart}").fetchall()
            result[mart] = {
                row[: len(keys)]: {
                    **dict(zip(FIGURES[mart], row[len(keys) : -1])),
                    "_cell": row[-1],
                }
                for row in rows
            }
        return result
    finally:
        con.close()


def cost(open_figures: dict, figures: dict, marked: dict[str, int]) -> dict[str, Cost]:
    costs = {}
    for mart, cells in figures.items():
        available = [
            (key, name)
            for key, values in open_figures[mart].items()
            for name in FIGURES[mart]
            if values[name] is not None
        ]
        costs[mart] = Cost(
            cells=len(cells),
            cells_withheld=sum(1 for values in cells.values() if values["_cell"]),
            figures=len(available),
            figures_withheld=sum(1 for key, name in available if cells[key][name] is None),
            acro_marked=marked.get(mart, 0),
        )
    return costs


def by_measure(open_figures: dict, before: dict, after: dict) -> str:
    """Figures withheld before and after, per measure (where the cost falls)."""
    lines = ["| mart | figure | before | after |", "|---|---|---|---|"]
    for mart, names in FIGURES.items():
        for name in names:
            keys = [k for k, values in open_figures[mart].items() if values[name] is not None]
            if not keys:
                continue
            shares = [
                percent(sum(1 for k in keys if version[mart][k][name] is None), len(keys))
                for version in (before, after)
            ]
            lines.append(f"| `{mart}` | {name} | {shares[0]} | {shares[1]} |")
    return "\n".join(lines)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report_costs(costs: dict[str, dict[str, Cost]]) -> str:
    lines = [
        "| mart | cells | cells withheld before | after | figures | figures withheld "
        "before | after | ACRO marks on published figures before | after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mart in FIGURES:
        before, after = costs["before"][mart], costs["after"][mart]
        lines.append(
            f"| `{mart}` | {after.cells} | {percent(before.cells_withheld, before.cells)} | "
            f"{percent(after.cells_withheld, after.cells)} | {after.figures} | "
            f"{percent(before.figures_withheld, before.figures)} | "
            f"{percent(after.figures_withheld, after.figures)} | {before.acro_marked} | "
            f"{after.acro_marked} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out" / "disclosure")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the trust built in --out by an earlier run"
    )
    args = parser.parse_args(argv)
    db = args.out.resolve() / "warehouse.duckdb"
    if args.reuse and db.exists():
        point_environment(args.out.resolve(), db)
    else:
        db = prepare(args.out.resolve(), args.pupils, args.seed)
    figures, costs = {}, {}
    for name, rule_vars in RULE_SETS.items():
        rebuild_marts(db, rule_vars)
        figures[name] = published_figures(db)
        marks, _ = published_marks(db, acro_marks(db, Thresholds.from_project()))
        marked: dict[str, int] = {}
        for mark in marks:
            marked[mark.mart] = marked.get(mark.mart, 0) + 1
        costs[name] = cost(figures["open"], figures[name], marked)
        print(f"{name}: built and checked", flush=True)
    print(f"\nSynthetic trust: {args.pupils} pupils, seed {args.seed}, 3 years, as of {AS_OF}\n")
    print(report_costs({name: costs[name] for name in ("before", "after")}))
    print()
    print(by_measure(figures["open"], figures["before"], figures["after"]))
    print()
    print(subtract_nights(one_pupil_leaves_fsm(db, args.out.resolve(), AS_OF)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
