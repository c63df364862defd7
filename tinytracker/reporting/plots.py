"""The page's plots, drawn with matplotlib into PNG images that the page embeds inline.

matplotlib rather than Vega-Lite (altair + vl-convert): it is already installed for the
benchmark plots, draws offline with no JavaScript engine or extra 100 MB wheel, and a PNG
embedded as a data URI prints the same in every browser. Each plot plots values read from
the reporting relations as they are: it sums nothing, it only places them (a missing month
is drawn as 0). ``Figure`` is used without pyplot, so no global state and no GUI backend:
safe inside a Dagster run.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinytracker.reporting.data import ReportData, Row

WIDTH_INCHES, HEIGHT_INCHES, DPI = 9.0, 3.2, 150
PIXEL_WIDTH, PIXEL_HEIGHT = int(WIDTH_INCHES * DPI), int(HEIGHT_INCHES * DPI)
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f", "#d62728", "#aec7e8", "#ffbb78",
)  # fmt: skip


@dataclass(frozen=True)
class Plot:
    """One embedded image: where it goes on the page, what it shows, and its PNG bytes."""

    key: str
    alt: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def months(first: dt.date, count: int) -> list[dt.date]:
    """``count`` first-of-month dates from ``first``'s month on."""
    year, month = first.year, first.month
    result = []
    for _ in range(count):
        result.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _colours(series: Iterable[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(series)))}


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=7)
    return figure, axes


def _png(figure: Figure) -> bytes:
    canvas = FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def _empty_note(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=9)


def stacked_bars(
    key: str,
    alt: str,
    categories: Sequence[str],
    rows: list[Row],
    *,
    ylabel: str,
    empty: str,
    label: Callable[[object], str] = str,
    rotate: bool = False,
) -> Plot:
    """Bars per category, stacked by series, from (category, series, value, is_marked) rows
    grouped in SQL (one row per category and series); marked series are hatched."""
    values: dict[str, dict[str, int]] = {}
    for row in rows:
        cell = values.setdefault(str(row["series"]), {})
        category = label(row["category"])
        if category in cell:
            raise ValueError(f"plot {key}: two values for {category} / {row['series']}")
        cell[category] = int(row["value"] or 0)
    hatched = {str(row["series"]) for row in rows if row["is_marked"]}
    figure, axes = _figure()
    colours = _colours(values)
    bottoms = [0] * len(categories)
    for series in sorted(values):
        heights = [values[series].get(category, 0) for category in categories]
        axes.bar(
            range(len(categories)),
            heights,
            bottom=bottoms,
            label=series,
            color=colours[series],
            hatch="///" if series in hatched else None,
            edgecolor="white" if series in hatched else None,
            linewidth=0,
        )
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    axes.set_xticks(range(len(categories)), categories, rotation=60 if rotate else 0)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: whole numbers
    if values:
        axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        _empty_note(axes, empty)
    return Plot(key, alt, _png(figure))


def _month_label(day: object) -> str:
    assert isinstance(day, dt.date)
    return day.strftime("%b %Y")


def _month_labels(first: dt.date, count: int) -> list[str]:
    return [_month_label(m) for m in months(first, count)]


def all_plots(data: ReportData) -> dict[str, Plot]:
    """Every plot of the page, keyed by the section it belongs to."""
    history = _month_labels(data.evaluation.history_starts_on, 24)
    forecast = _month_labels(data.evaluation.forecast_starts_on, 12)
    rows = data.plot_rows
    plots = [
        stacked_bars(
            "held",
            "Subjects held with their identity, per organisation, stacked by kind of subject",
            sorted({str(r["category"]) for r in rows["held"]}),
            rows["held"],
            ylabel="subjects held",
            empty="the warehouse holds no one",
        ),
        stacked_bars(
            "due",
            "Subjects falling due per month over the next 12 months, stacked by rule",
            forecast,
            rows["due"],
            ylabel="subjects due",
            empty="nothing falls due in the next 12 months",
            label=_month_label,
            rotate=True,
        ),
        stacked_bars(
            "done",
            "Subjects anonymised or deleted per month over the last 24 months, stacked by "
            "rule; erasure requests hatched",
            history,
            rows["done"],
            ylabel="subjects actioned",
            empty="nothing was actioned in the last 24 months",
            label=_month_label,
            rotate=True,
        ),
        stacked_bars(
            "requests",
            "Subject requests received per month over the last 24 months, by kind; late "
            "ones hatched",
            history,
            rows["requests"],
            ylabel="requests received",
            empty="no subject request in the last 24 months",
            label=_month_label,
            rotate=True,
        ),
        stacked_bars(
            "landing",
            "Rows quarantined per month over the last 24 months, stacked by rule",
            history,
            rows["landing"],
            ylabel="rows quarantined",
            empty="no row was quarantined in the last 24 months",
            label=_month_label,
            rotate=True,
        ),
        stacked_bars(
            "checks",
            "Compliance checks by the layer of what they guard, by the status of their last "
            "run; anything but pass hatched",
            sorted({str(r["category"]) for r in rows["checks"]}),
            rows["checks"],
            ylabel="checks",
            empty="no check has run yet: build the models (tinytracker build)",
        ),
    ]
    return {plot.key: plot for plot in plots}
