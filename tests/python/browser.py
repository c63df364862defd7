"""Debian's Chromium, driven by Playwright: nothing is downloaded (never `playwright install`).

Used by the browser test of the DPO page and by `make report-screenshot` (the README's
picture). Chromium comes from the system package (`apt-get install chromium`, which `.ci/run`
does when it runs as root); README "Testing the DPO page in a browser" says how to get it
without root. Run as a script: `python tests/python/browser.py PAGE.html OUT.png [HEIGHT]`
writes a screenshot of the page's top HEIGHT pixels (default: the whole page).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_ENV = "TINYTRACKER_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}
INSTALL_HINT = (
    "Chromium is not installed: `sudo apt-get install -y chromium` (Debian/Ubuntu), or point "
    f"{CHROMIUM_ENV} at any Chromium or Chrome binary you may run (README, 'Testing the DPO "
    "page in a browser')"
)


def chromium_path() -> Path | None:
    """The browser to drive: env TINYTRACKER_CHROMIUM, else Debian's /usr/bin/chromium."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return Path(configured) if Path(configured).exists() else None
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    return Path(found) if found else None


@contextmanager
def browser_page() -> Iterator:
    """A fresh headless Chromium page (its own throwaway profile), closed afterwards."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    with (
        tempfile.TemporaryDirectory(prefix="tinytracker-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def screenshot(page_html: Path, out: Path, height: int | None = None) -> None:
    with browser_page() as page:
        page.goto(page_html.resolve().as_uri())
        clip = None
        if height is not None:
            clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
        page.screenshot(path=str(out), full_page=True, clip=clip)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: browser.py PAGE.html OUT.png [HEIGHT]")
    screenshot(
        Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else None
    )
