"""Driving a built site in headless Chromium through its automation contract.

`PageDriver(site)` serves the site (reproduce.web.serve: 127.0.0.1, cross-origin isolated) and
starts Debian's chromium (reproduce.conformance.runtimes.chromium_executable, never a downloaded
browser) through Playwright; `open(query)` loads index.html?QUERY, and `result(page)` waits for
`document.body.dataset.state` to leave loading/ready/running and returns the state with the
content of <pre id="result"> (the run's JSON when "done", the message when "error").
Used by the page's tests and benchmarks/bench_web.py.
"""
from __future__ import annotations

import importlib.util
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reproduce.conformance.runtimes import CHROMIUM_FLAGS, chromium_executable
from reproduce.web.serve import site_server

SETTLED = "() => !['loading', 'ready', 'running'].includes(document.body.dataset.state)"
READY = "() => document.body.dataset.state !== 'loading'"
# Chromium's software WebGPU adapter (SwiftShader), for checking the page's WebGPU path on a
# machine without a GPU.
SOFTWARE_WEBGPU_FLAGS = ("--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader",
                         "--enable-features=Vulkan")


def browser_unavailable() -> str | None:
    """Why the page cannot be driven here (None when it can)."""
    if importlib.util.find_spec("playwright") is None:
        return "Python package 'playwright' not installed (pip install playwright; never `playwright install`)"
    if chromium_executable() is None:
        return "chromium not found (apt-get install chromium, or set DGN_AM_CHROMIUM)"
    return None


class PageError(RuntimeError):
    """The page ended in another state than the one asked for; str() says which, and why."""


@dataclass
class PageOutcome:
    """Where a page run ended: its data-state and the text of #result."""

    state: str
    text: str

    @property
    def result(self) -> dict:
        """The run's JSON (a "done" or "stopped" page); PageError for any other state."""
        if self.state not in ("done", "stopped"):
            raise PageError(f"the page ended in state {self.state!r}: {self.text}")
        return json.loads(self.text)


class PageDriver:
    """A served site and a headless Chromium (context manager)."""

    def __init__(self, site: Path, extra_flags: tuple[str, ...] = (),
                 timeout_ms: int = 300_000, playwright=None) -> None:
        """`playwright`: a running Playwright (another driver's) to launch this browser with;
        Playwright's sync API allows one per thread."""
        self.site = Path(site)
        self.extra_flags = extra_flags
        self.timeout_ms = timeout_ms
        self.playwright = playwright
        self.manager = None

    def __enter__(self) -> "PageDriver":
        from playwright.sync_api import sync_playwright
        self.server = site_server(self.site).__enter__()
        if self.playwright is None:
            self.manager = sync_playwright()
            self.playwright = self.manager.__enter__()
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self.browser = self.playwright.chromium.launch_persistent_context(
            self.profile.name, executable_path=chromium_executable(), headless=True,
            args=[*CHROMIUM_FLAGS, *self.extra_flags], accept_downloads=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.browser.close()
        finally:
            if self.manager is not None:
                self.manager.__exit__(*exc)
            self.server.__exit__(*exc)
            self.profile.cleanup()

    @property
    def url(self) -> str:
        return f"{self.server.url}index.html"

    def open(self, query: str = "", wait_ready: bool = True):
        """A new tab on index.html?query (waiting until it has left "loading")."""
        page = self.browser.new_page()
        page.set_default_timeout(self.timeout_ms)
        page.goto(f"{self.url}?{query}" if query else self.url)
        if wait_ready:
            page.wait_for_function(READY)
        return page

    def outcome(self, page) -> PageOutcome:
        """Waits for the run to end; its state and #result."""
        page.wait_for_function(SETTLED)
        return PageOutcome(page.evaluate("document.body.dataset.state"),
                           page.inner_text("#result"))

    def run(self, query: str) -> PageOutcome:
        """Opens index.html?query (with autorun=1 in it) and waits for the outcome."""
        page = self.open(query, wait_ready=False)
        try:
            return self.outcome(page)
        finally:
            page.close()
