"""The DPO page in a real browser: Debian's Chromium driven by Playwright (tests/python/browser.py).

The page comes from a small known warehouse with something in every section
(dpo_warehouse.py). In Chromium it must load nothing from anywhere, log no console error,
draw every plot at its size, show headline figures equal to SQL counts on the same
warehouse written independently of the reporting models, name no pupil, contact or employee,
and print to A4 without overflowing. A full-page screenshot and the PDF are kept as test
artefacts (target/test-artefacts/, or env TINYTRACKER_TEST_ARTEFACTS).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pytest
from browser import INSTALL_HINT, browser_page, chromium_path
from dpo_warehouse import DpoWarehouse, dpo_warehouse  # noqa: F401 (fixture)

from tinytracker.core.paths import PROJECT_DIR
from tinytracker.reporting.plots import PIXEL_HEIGHT, PIXEL_WIDTH, months

pytestmark = pytest.mark.skipif(chromium_path() is None, reason=INSTALL_HINT)

ARTEFACTS = Path(
    os.environ.get("TINYTRACKER_TEST_ARTEFACTS", PROJECT_DIR / "target" / "test-artefacts")
)
A4_WIDTH_PX = 718  # 210 mm less 2 x 12 mm margins, at 96 px per inch


def independent_headlines(db: Path, as_of: dt.date) -> dict[str, int]:
    """The page's headline figures, counted from raw, audit and retention_status directly."""
    forecast_end = months(as_of, 13)[-1] - dt.timedelta(days=1)  # end of the 12th month
    first = as_of.year * 12 + as_of.month - 1 - 23  # 24 months, as_of's included
    history_start = dt.date(first // 12, first % 12 + 1, 1)
    status = "retention.retention_status"
    queries = {
        "identified_pupils": "select count(*) from raw.pupils where anonymised_on is null",
        "identified_subjects": """
            select (select count(*) from raw.pupils where anonymised_on is null)
                + (select count(*) from raw.pupil_contacts)
                + (select count(*) from raw.employees where anonymised_on is null)
                + (select count(*) from raw.correspondence)
                + (select count(distinct (organisation_id, import_id)) from raw.setup_imports)""",
        "rows_held": "select "
        + " + ".join(
            f"(select count(*) from raw.{t})"
            for t in (
                "pupils",
                "pupil_contacts",
                "attendance_sessions",
                "assessments",
                "sen_records",
                "employees",
                "reports",
                "correspondence",
                "setup_imports",
                "quarantine",
            )
        ),  # fmt: skip
        "due_next_12_months": f"""
            select count(*) from {status} where is_winning_rule
            and status in ('retained', 'on_hold') and due_on > ? and due_on <= ?""",
        "overdue_subjects": f"""
            select count(distinct (organisation_id, subject_kind, subject_id)) from {status}
            where status = 'due' and due_on <= ?""",
        "held_past_due": f"""
            select count(distinct (organisation_id, subject_kind, subject_id)) from {status}
            where status = 'on_hold' and due_on <= ?""",
        "standing_holds": "select count(*) from audit.legal_holds where released_at is null",
        "actioned_24_months": """
            select count(*) from audit.erasure_suppressions
            where actioned_on between ? and ?""",
        "open_requests": """
            select count(*) from audit.subject_requests
            where received_on <= ? and (completed_on is null or completed_on > ?)""",
        "late_requests": """
            select count(*) from audit.subject_requests where received_on <= ? and
            (case when completed_on <= ? then completed_on else ? end) > due_on""",
        "quarantined_24_months": """
            select count(*) from raw.quarantine
            where cast(quarantined_at as date) between ? and ?""",
        "checks_total": "select count(distinct test_unique_id) from reporting.dbt_test_results",
        "checks_failed": """
            select count(*) from (select test_unique_id, arg_max(status, executed_at) as status
            from reporting.dbt_test_results group by all) where status <> 'pass'""",
    }
    params = {
        "due_next_12_months": [as_of, forecast_end],
        "overdue_subjects": [as_of],
        "held_past_due": [as_of],
        "actioned_24_months": [history_start, as_of],
        "open_requests": [as_of, as_of],
        "late_requests": [as_of, as_of, as_of],
        "quarantined_24_months": [history_start, as_of],
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            key: int(con.execute(sql, params.get(key, [])).fetchone()[0])
            for key, sql in queries.items()
        }


@pytest.fixture(scope="module")
def browser_run(dpo_warehouse: DpoWarehouse):
    """Open the page once: what it requested, logged, showed and printed."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page_html = dpo_warehouse.report_dir / "report.html"
    requests: list[str] = []
    errors: list[str] = []
    with browser_page() as page:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_html.resolve().as_uri(), wait_until="load")
        plots = page.evaluate(
            """() => [...document.querySelectorAll('img.plot')].map(img => {
                const canvas = document.createElement('canvas');
                canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
                const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
                const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
                const colours = new Set();
                for (let i = 0; i < pixels.length && colours.size < 50; i += 4 * 97) {
                    colours.add(pixels[i] + ',' + pixels[i + 1] + ',' + pixels[i + 2]);
                }
                return {key: img.dataset.plot, complete: img.complete,
                        width: img.naturalWidth, height: img.naturalHeight,
                        colours: colours.size};
            })"""
        )
        headlines = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('[data-headline]')]
                .map(el => [el.dataset.headline, Number(el.querySelector('dd').dataset.value)]))"""
        )
        text = page.evaluate("() => document.body.innerText")
        page.screenshot(path=str(ARTEFACTS / "dpo-report.png"), full_page=True)
        page.emulate_media(media="print")
        page.set_viewport_size({"width": A4_WIDTH_PX, "height": 1000})
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        pdf = page.pdf(path=str(ARTEFACTS / "dpo-report.pdf"), format="A4", print_background=True)
    return {
        "requests": requests,
        "errors": errors,
        "plots": plots,
        "headlines": headlines,
        "text": text,
        "source": page_html.read_text(encoding="utf-8"),
        "overflow": overflow,
        "pdf": pdf,
    }


def test_the_page_loads_nothing_from_anywhere_and_logs_no_error(browser_run):
    assert [url for url in browser_run["requests"] if not url.startswith(("file:", "data:"))] == []
    assert browser_run["errors"] == []


def test_every_plot_is_drawn_at_its_size(browser_run):
    plots = {plot["key"]: plot for plot in browser_run["plots"]}
    assert set(plots) == {"held", "due", "done", "requests", "landing", "checks"}
    for key, plot in plots.items():
        assert plot["complete"], key
        assert (plot["width"], plot["height"]) == (PIXEL_WIDTH, PIXEL_HEIGHT), key
        assert plot["colours"] > 3, f"plot {key} looks blank"


def test_headline_figures_equal_sql_counts_on_the_same_warehouse(
    browser_run,
    dpo_warehouse: DpoWarehouse,
):
    expected = independent_headlines(dpo_warehouse.db, dpo_warehouse.as_of)
    assert browser_run["headlines"] == expected
    # the known extract puts something in the sections the test is about
    assert expected["standing_holds"] == 2 and expected["late_requests"] == 1
    assert expected["actioned_24_months"] > 0 and expected["overdue_subjects"] == 0


def test_no_name_upn_or_mis_id_of_a_person_appears_in_the_page(
    browser_run,
    dpo_warehouse: DpoWarehouse,
):
    people = dpo_warehouse.people
    for content in (browser_run["text"], browser_run["source"]):
        lowered = content.lower()
        words = set(re.findall(r"[\w'-]+", content))
        assert not [n for n in people["full_names"] if n.lower() in lowered]
        assert not [e for e in people["emails"] if e.lower() in lowered]
        assert not people["upns"] & words
        assert not people["mis_ids"] & words
        organisations = set(re.findall(r"[\w'-]+", " ".join(_organisation_names(dpo_warehouse))))
        assert not (people["surnames"] & words) - organisations
    # the hold whose reason names its pupil is listed, its reason withheld
    assert dpo_warehouse.held_pupil_surname not in browser_run["source"]
    assert "withheld: the reason names a person" in browser_run["text"]
    assert "insurance_claim" in browser_run["text"]


def _organisation_names(dpo_warehouse: DpoWarehouse) -> list[str]:
    with duckdb.connect(str(dpo_warehouse.db), read_only=True) as con:
        return [name for (name,) in con.execute("select name from raw.organisations").fetchall()]


def test_the_page_prints_to_a4_without_overflowing(browser_run):
    assert browser_run["overflow"] <= 0
    pdf = browser_run["pdf"]
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) > 3
    assert (ARTEFACTS / "dpo-report.pdf").stat().st_size == len(pdf)
    assert (ARTEFACTS / "dpo-report.png").stat().st_size > 50_000
