"""A screenshot of the browser page mid-run (the README's picture of it).

    python tools/web_screenshot.py SITE OUT.png [--unit 3] [--seed 0] [--at 60]

SITE: a site `python -m reproduce web SITE --demo` wrote. The page runs its published loop
(settings.json's defaults) for the unit and seed given, in headless Chromium
(reproduce.web.browser); the picture is taken once iteration --at has been drawn, while the run
goes on.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reproduce.web.browser import PageDriver, browser_unavailable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--unit", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--at", type=int, default=60, help="the iteration to show (1-based)")
    args = parser.parse_args()
    reason = browser_unavailable()
    if reason:
        sys.exit(f"web_screenshot: {reason}")
    with PageDriver(args.site) as driver:
        page = driver.open(f"unit={args.unit}&seed={args.seed}&autorun=1", wait_ready=False)
        page.set_viewport_size({"width": 1100, "height": 820})
        page.wait_for_function(f"document.getElementById('status').textContent"
                               f".startsWith('iteration {args.at} ')")
        page.screenshot(path=str(args.out), full_page=False)
        page.evaluate("window.dgnAm.stopRequested = true")
        page.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
