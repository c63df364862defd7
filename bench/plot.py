"""docs/benchmarks.png: time and peak memory against attendance rows, one line per stage."""

from __future__ import annotations

from pathlib import Path

from bench.figures import PIPELINE, TARGET_PEAK_MB, peak, wall


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    rows = [s["session_rows"] / 1e6 for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.4))
    series = [
        (
            "whole pipeline (load..publish)",
            [sum(wall(s, x) for x in PIPELINE) for s in sizes],
            "k",
            "-o",
        ),
        ("floor + load", [wall(s, "floor") + wall(s, "load") for s in sizes], "k", "--o"),
        ("load", [wall(s, "load") for s in sizes], "tab:blue", "-s"),
        ("dbt build", [wall(s, "build") for s in sizes], "tab:orange", "-s"),
        ("retention plan", [wall(s, "plan") for s in sizes], "tab:green", "-s"),
        ("retention apply", [wall(s, "apply") for s in sizes], "tab:red", "-s"),
        ("floor", [wall(s, "floor") for s in sizes], "tab:red", "--^"),
        ("daily dbt build", [wall(s, "daily_build") for s in sizes], "tab:purple", "-d"),
        ("publish", [wall(s, "publish") for s in sizes], "tab:gray", "-s"),
    ]
    for label, values, colour, style in series:
        left.plot(rows, values, style, color=colour, label=label)
    if len(rows) > 1:
        base = sum(wall(sizes[0], x) for x in PIPELINE)
        left.plot(
            rows,
            [base * r / rows[0] for r in rows],
            ":",
            color="0.6",
            label="linear from the smallest size",
        )
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xticks(rows, [f"{r:.1f}M\n{s['pupils']:,}" for r, s in zip(rows, sizes)])
    left.minorticks_off()
    left.set_xlabel("attendance session rows (log), pupils")
    left.set_ylabel("wall time (s, log)")
    left.set_title("Time against rows (2 cores)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    for stage, colour in (
        ("load", "tab:blue"),
        ("build", "tab:orange"),
        ("plan", "tab:green"),
        ("apply", "tab:red"),
        ("floor", "k"),
        ("daily_build", "tab:purple"),
    ):
        right.plot(rows, [peak(s, stage) / 1024 for s in sizes], "-o", color=colour, label=stage)
    right.axhline(TARGET_PEAK_MB / 1024, color="tab:red", linestyle=":", label="4 GB target")
    right.set_xlabel("attendance session rows (millions)")
    right.set_ylabel("peak RSS of the process tree (GB)")
    right.set_title("Peak memory per stage")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
