"""``tinytracker report --html``: the DPO page, ``ropa.csv`` and ``ropa.md`` in one folder.

Read-only: the warehouse is opened without the write lock and closed before anything is
drawn. The nightly Dagster asset writes the same files to ``reports/<as_of>/`` beside the
backup folder (:func:`reports_dir`), so every night's page is kept next to the backups it
describes.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from tinytracker.core import paths, warehouse
from tinytracker.core.dates import utc_now
from tinytracker.core.errors import TinyTrackerError
from tinytracker.reporting import data as report_data
from tinytracker.reporting import ropa
from tinytracker.reporting.page import render
from tinytracker.reporting.plots import all_plots

PAGE_NAME = "report.html"


@dataclass(frozen=True)
class HtmlReport:
    """What one page build wrote, and the figures it headlined."""

    out_dir: Path
    page: Path
    ropa_csv: Path
    ropa_md: Path
    as_of: dt.date
    organisation_id: str | None
    headlines: dict[str, int]
    plots: int
    seconds: float


def reports_dir() -> Path:
    """Where the nightly pages are kept: ``reports/`` beside the backup folder."""
    return paths.backup_dir().parent / "reports"


def write_html_report(
    out_dir: Path,
    *,
    as_of: dt.date | None = None,
    organisation_id: str | None = None,
    db: Path | None = None,
) -> HtmlReport:
    """Write the page and the record of processing for ``as_of`` (default: the date the
    retention models are built for) into ``out_dir`` (created if missing)."""
    started = time.perf_counter()
    if out_dir.exists() and not out_dir.is_dir():
        raise TinyTrackerError(f"--out {out_dir} is a file, not a folder")
    con = warehouse.connect(db, read_only=True)
    try:
        data = report_data.load(con, as_of, organisation_id)
    finally:
        con.close()
    plots = all_plots(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / PAGE_NAME
    page.write_text(render(data, plots, utc_now()), encoding="utf-8")
    ropa_csv, ropa_md = out_dir / ropa.CSV_NAME, out_dir / ropa.MARKDOWN_NAME
    ropa.write_csv(ropa_csv, data.table("ropa"))
    ropa.write_markdown(
        ropa_md, data.table("ropa"), data.table("ropa_measures"), data.evaluation.as_of
    )
    return HtmlReport(
        out_dir=out_dir,
        page=page,
        ropa_csv=ropa_csv,
        ropa_md=ropa_md,
        as_of=data.evaluation.as_of,
        organisation_id=organisation_id,
        headlines=dict(data.headlines),
        plots=len(plots),
        seconds=time.perf_counter() - started,
    )


def write_nightly_report(as_of: dt.date | None, db: Path | None = None) -> HtmlReport:
    """The service's page in ``reports/<date>/`` (replaced if it exists), for ``as_of`` or,
    when None, the date the retention models are built for."""
    if as_of is None:
        con = warehouse.connect(db, read_only=True)
        try:
            as_of = report_data.evaluation(con).as_of
        finally:
            con.close()
    return write_html_report(reports_dir() / as_of.isoformat(), as_of=as_of, db=db)


def format_report(result: HtmlReport) -> str:
    scope = result.organisation_id or "the whole service"
    labels = report_data.headline_labels()
    lines = [
        f"DPO report for {scope} on {result.as_of} ({result.plots} plots, {result.seconds:.1f}s):",
        f"  page                  {result.page}",
        f"  record of processing  {result.ropa_csv}, {result.ropa_md}",
        "",
    ]
    lines += [f"  {value:>9,}  {labels[key]}" for key, value in result.headlines.items()]
    return "\n".join(lines)
