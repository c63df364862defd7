"""Plain functions behind the report asset and its sensors (tested without Dagster runs)."""

from __future__ import annotations

import datetime as dt

from tinytracker.reporting.html_report import HtmlReport

REPORT_OP = "dpo_report"


def report_metadata(result: HtmlReport) -> dict[str, object]:
    """Where the page went and its headline figures (counts only, never a name)."""
    return {
        "as_of": result.as_of.isoformat(),
        "page": str(result.page),
        "ropa_csv": str(result.ropa_csv),
        "ropa_md": str(result.ropa_md),
        "plots": result.plots,
        "seconds": round(result.seconds, 2),
        **{f"headline.{key}": value for key, value in result.headlines.items()},
    }


def report_run_config(as_of: dt.date) -> dict:
    return {"ops": {REPORT_OP: {"config": {"as_of": as_of.isoformat()}}}}


def report_after_apply(
    retention_run_id: str, as_of: dt.date | None, dry_run: bool | None
) -> tuple[str, dict] | str:
    """(run key, run config) of the report that follows a finished retention_apply run, or
    why there is none: a dry run changes nothing, and a run that made no retention run has no
    date to report on."""
    if as_of is None or dry_run is None:
        return f"run {retention_run_id} made no retention run: no report"
    if dry_run:
        return f"run {retention_run_id} was a dry run for {as_of}: no report"
    return f"dpo_report after {retention_run_id}", report_run_config(as_of)
