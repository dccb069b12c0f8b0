"""Static pages in a real headless Chromium: Debian's `chromium` driven by Playwright for Python
(never `playwright install`), with the project's flags (reproduce.conformance.runtimes).

Used by the atlas's tests, benchmarks/bench_atlas.py and tools/atlas_screenshots.py:

    with chromium_page() as (page, errors):
        page.goto(url)           # errors: every console error and uncaught exception, as text
"""
from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

from reproduce.conformance.runtimes import CHROMIUM_FLAGS, chromium_executable

VIEWPORT = {"width": 1280, "height": 800}


def unavailable() -> str | None:
    """Why no page can be opened here (None: Playwright and a Chromium binary are present)."""
    if importlib.util.find_spec("playwright") is None:
        return ("Playwright not installed (pip install -r requirements-conformance.txt; "
                "never `playwright install`)")
    if chromium_executable() is None:
        return "chromium not found (apt-get install chromium, or set DGN_AM_CHROMIUM)"
    return None


@contextmanager
def chromium_page(viewport: dict[str, int] | None = None) -> Iterator[tuple[object, list[str]]]:
    """A fresh page of a headless Chromium and the list its console errors and page errors
    are appended to; the browser is closed afterwards."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(),
                                             headless=True, args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport=viewport or VIEWPORT)
            errors: list[str] = []
            page.on("console", lambda message: errors.append(f"console: {message.text}")
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            yield page, errors
        finally:
            browser.close()
