"""Turn bench/run.py's results into docs/benchmarks.md and docs/benchmarks.png.

Every figure in the document is computed from the results JSON (:mod:`bench.figures`), so
the document can be rewritten from a saved run (``bench/run.py --report-only``) and never
carries a hand-typed number. This module writes the measured tables; :mod:`bench.analysis`
the targets, growth and findings; :mod:`bench.plot` the figure.
"""

from __future__ import annotations

from pathlib import Path

from bench import analysis, make_test_report
from bench.calibrate import REPEATS, probe_text
from bench.figures import ALL_STAGES, STAGE_LABELS, fmt_seconds, peak, ratios, wall
from bench.plot import plot


def _heading(results: dict) -> list[str]:
    """Title, provenance and the machine the figures come from."""
    m = results["machine"]
    lines: list[str] = []
    add = lines.append
    add("# Benchmarks: the pipeline at trust scale, beside the SQL floor and a per-subject eraser")
    add("")
    add(
        "<!-- Written by bench/run.py --doc (bench/report.py) from bench/out/results.json; "
        "do not edit by hand: rerun `make bench`. -->"
    )
    add("")
    add(
        f"Measured {results.get('started_at', '?')} with `{results.get('command', 'bench/run.py')}`"
        f", retention as_of {results['as_of']}. Every figure below comes from that run."
    )
    add("")
    add("## Machine")
    add("")
    add("| CPU | cores | RAM | OS | Python | DuckDB | dbt-core | dbt-duckdb | Dagster |")
    add("|---|---|---|---|---|---|---|---|---|")
    add(
        f"| {m['cpu']} | {m['cores']} | {m['ram_gb']} GB | {m['os']} | {m['python']} | "
        f"{m['duckdb']} | {m['dbt-core']} | {m['dbt-duckdb']} | {m['dagster']} |"
    )
    add("")
    probe = probe_text(results.get("probe"))
    if probe:
        add(
            f"How fast the machine was during the run: {probe}, the median of {REPEATS} fresh "
            "interpreters doing the same fixed work. The same code's times move with it from "
            "one run to another (the machine is shared and its speed varies by the hour): "
            "compare two runs' figures in seconds, and the `make test` record's probe below, "
            "through it."
        )
        add("")
    return lines


def _sizes(results: dict) -> list[str]:
    """The synthetic trusts measured."""
    sizes = results["sizes"]
    lines: list[str] = []
    add = lines.append
    add("## Sizes")
    add("")
    add(
        "Synthetic trusts from `tinytracker generate --years 1` (one academic year of "
        "attendance up to the default extract date, plus leavers of earlier years), "
        "organisations = pupils / 2,500 (at least 7). One organisation (ORG005) has its MIS "
        "permission revoked, so its rows are refused at load, as the policy requires."
    )
    add("")
    add(
        "| pupils on roll | organisations | session rows loaded | all raw rows | due subjects "
        "actioned | rows changed | warehouse file at the end |"
    )
    add("|---:|---:|---:|---:|---:|---:|---:|")
    for s in sizes:
        add(
            f"| {s['pupils']:,} | {s['organisations']} | {s['session_rows']:,} | "
            f"{s['total_rows']:,} | {s['subjects_actioned']:,} | {s['rows_changed']:,} | "
            f"{s['file_bytes']['warehouse'] / 1e6:,.0f} MB |"
        )
    add("")
    return lines


def _stages(results: dict, plot_name: str) -> list[str]:
    """Wall time, peak memory and CPU per stage and size."""
    sizes = results["sizes"]
    lines: list[str] = []
    add = lines.append
    add("## Time and memory per stage")
    add("")
    add(
        "Wall time and peak resident memory of the whole process tree (the CLI, dbt, DuckDB), "
        "sampled every 50 ms (bench/measure.py). Each stage is a subprocess: the real CLI, or "
        "`python -c` calling `run_dbt_build` for the build."
    )
    add("")
    header = "| stage | " + " | ".join(f"{s['pupils']:,} pupils" for s in sizes) + " |"
    add(header)
    add("|---|" + "---:|" * len(sizes))
    for stage in ALL_STAGES:
        cells = [f"{fmt_seconds(wall(s, stage))} / {peak(s, stage):,.0f} MB" for s in sizes]
        add(f"| {STAGE_LABELS[stage]} | " + " | ".join(cells) + " |")
    cells = [f"{fmt_seconds(ratios(s)['pipeline_seconds'])}" for s in sizes]
    add(
        "| **whole pipeline** (load + build + plan + apply + publish) | " + " | ".join(cells) + " |"
    )
    cells = [f"{fmt_seconds(ratios(s)['floor_pipeline_seconds'])}" for s in sizes]
    add("| **floor pipeline** (load + floor) | " + " | ".join(cells) + " |")
    add("")
    add(
        "CPU seconds used by each stage's process tree, and in brackets the share of the "
        "machine's CPU that other processes used meanwhile (the machine may be shared; a "
        "wall time next to a large share was slowed by a neighbour):"
    )
    add("")
    add(header)
    add("|---|" + "---:|" * len(sizes))
    for stage in ALL_STAGES:
        cells = [
            f"{s['stages'][stage].get('cpu_seconds', 0):.1f} s "
            f"({s['stages'][stage].get('others_cpu_share', 0):.0%})"
            for s in sizes
        ]
        add(f"| {stage} | " + " | ".join(cells) + " |")
    add("")
    add(f"![Time and peak memory against session rows]({plot_name})")
    add("")
    return lines


def _ratios(results: dict) -> list[str]:
    """The ratios against the floor and the erasers, with their definitions."""
    sizes = results["sizes"]
    lines: list[str] = []
    add = lines.append
    add("## Ratios")
    add("")
    add("Definitions (all wall times, same run, same data):")
    add("")
    add(
        "- **retention vs floor** = (retention plan + retention apply) / floor. Our apply "
        "includes what the floor has no equivalent for: refreshing the plan models with their "
        "tests, `dbt run` of every derived model and the marts, and the analyst publish."
    )
    add(
        "- **whole pipeline vs floor** = (load + dbt build + plan + apply + publish) / "
        "(load + floor). Both need the load; the floor needs nothing else because it has no "
        "models, tests or marts."
    )
    add(
        "- **eraser vs ours, per subject** = (eraser seconds per subject, mean over the "
        "sample) / (our apply wall time / subjects our apply actioned). The eraser is not "
        "charged for a file rewrite or for refreshing derived tables; ours is. Three erasers "
        "do the same work on the same sample (bench/per_subject.py): one statement per table "
        "and subject (the kindest shape a request-at-a-time eraser can have), the same on "
        "marks stored in date order, and one statement per row, each row addressed by its "
        "key after one lookup per table, which is how erasers built on a generic SQL "
        "connector work (Fides' SQL connector issues one UPDATE per retrieved row)."
    )
    add(
        "- **daily vs full** = daily `dbt build` after loading one more school day / the "
        "first full `dbt build`; and the same for the two incremental attendance models' own "
        "execution time (dbt's run_results.json)."
    )
    add("")
    add("| ratio | " + " | ".join(f"{s['pupils']:,} pupils" for s in sizes) + " |")
    add("|---|" + "---:|" * len(sizes))
    rows = [
        ("retention (plan + apply) / floor", lambda q: f"{q['retention_vs_floor']:.1f}x"),
        ("apply alone / floor", lambda q: f"{q['apply_vs_floor']:.1f}x"),
        ("whole pipeline / (load + floor)", lambda q: f"{q['pipeline_vs_floor']:.2f}x"),
        (
            "our apply, seconds per subject",
            lambda q: f"{q['ours_seconds_per_subject'] * 1e3:.3f} ms",
        ),
        (
            "eraser, seconds per subject",
            lambda q: f"{q['eraser_seconds_per_subject'] * 1e3:.2f} ms",
        ),
        ("eraser / ours, per subject", lambda q: f"{q['eraser_vs_ours']:,.0f}x"),
        (
            "eraser extrapolated to every due subject",
            lambda q: fmt_seconds(q["eraser_extrapolated_seconds"]),
        ),
        (
            "eraser, marks in date order, seconds per subject",
            lambda q: f"{q['eraser_by_day_seconds_per_subject'] * 1e3:.2f} ms",
        ),
        (
            "eraser in date order / ours, per subject",
            lambda q: f"{q['eraser_by_day_vs_ours']:,.0f}x",
        ),
        (
            "eraser in date order, extrapolated",
            lambda q: fmt_seconds(q["eraser_by_day_extrapolated_seconds"]),
        ),
        (
            "eraser, one statement per row, seconds per subject",
            lambda q: f"{q['eraser_by_row_seconds_per_subject'] * 1e3:.2f} ms",
        ),
        ("eraser per row / ours, per subject", lambda q: f"{q['eraser_by_row_vs_ours']:,.0f}x"),
        (
            "eraser per row, extrapolated",
            lambda q: fmt_seconds(q["eraser_by_row_extrapolated_seconds"]),
        ),
        ("daily dbt build / full dbt build", lambda q: f"{q['daily_vs_build'] * 100:.0f}%"),
        (
            "daily / full, the two attendance models only",
            lambda q: (
                f"{q['daily_models_vs_build_models'] * 100:.1f}% "
                f"({q['daily_models_seconds']:.1f} s of {q['full_models_seconds']:.1f} s)"
            ),
        ),
    ]
    for label, fmt in rows:
        add(f"| {label} | " + " | ".join(fmt(ratios(s)) for s in sizes) + " |")
    add("")
    add(
        "Floor check: at every size the floor and our apply wrote the same suppression tokens "
        "(same subjects, same rules): "
        + ", ".join(
            f"{s['pupils']:,}: {'yes' if s['floor'].get('same_subjects_as_ours') else 'NO'}"
            for s in sizes
        )
        + "."
    )
    add("")
    return lines


def markdown(results: dict, plot_name: str) -> str:
    """docs/benchmarks.md: the measured tables, then the analysis (:mod:`bench.analysis`)."""
    sections = [
        _heading(results),
        _sizes(results),
        _stages(results, plot_name),
        _ratios(results),
        analysis.targets(results),
        make_test_report.make_test_steps(results.get("make_test")),
        make_test_report.make_test_files(results.get("make_test")),
        analysis.growth(results),
        analysis.where_the_time_goes(results),
        analysis.findings(results),
        analysis.next_steps_and_rerun(),
    ]
    return "\n".join(line for section in sections for line in section)


def write_report(results: dict, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "benchmarks.png"
    md = folder / "benchmarks.md"
    plot(results, png)
    md.write_text(markdown(results, png.name))
    return md, png
