"""Screenshots of a sweep's atlas (README's "Atlas" section): its index and one unit page, taken
in headless Chromium (tools/headless_chromium) from file://.

    python -m tools.atlas_screenshots OUT_DIR [--unit 3] [--out docs/atlas]

writes OUT/index.png and OUT/unit.png (1280×900 CSS pixels each). OUT_DIR must hold an atlas
(`python -m reproduce atlas OUT_DIR`); README names the sweep the committed ones come from.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.atomic import atomic_write_bytes
from tools.headless_chromium import chromium_page, unavailable

VIEWPORT = {"width": 1280, "height": 900}


def screenshot(url: str, ready: str) -> bytes:
    """A PNG of the page once `ready` (a selector) is there and its visible images are loaded."""
    with chromium_page(VIEWPORT) as (page, errors):
        page.goto(url)
        page.wait_for_selector(ready)
        page.wait_for_function("[...document.images].filter(i => i.getBoundingClientRect().top "
                               "< innerHeight).every(i => i.complete && i.naturalWidth > 0)")
        if errors:
            raise SystemExit(f"atlas_screenshots: {url}: {errors[0]}")
        return page.screenshot()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.atlas_screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", metavar="OUT_DIR", help="a sweep's folder with its atlas")
    parser.add_argument("--unit", type=int, default=3, help="the unit page to show")
    parser.add_argument("--out", default="docs/atlas", help="where index.png and unit.png go")
    args = parser.parse_args(argv)
    reason = unavailable()
    atlas = Path(args.out_dir) / "atlas"
    unit_page = atlas / "unit" / f"{args.unit:04d}.html"
    if reason or not unit_page.is_file():
        print(f"atlas_screenshots: {reason or f'{unit_page}: not found (write the atlas first)'}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, page, ready in (("index.png", atlas / "index.html", "body[data-ready]"),
                              ("unit.png", unit_page, "figure.run")):
        atomic_write_bytes(out / name, screenshot(page.resolve().as_uri(), ready))
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
