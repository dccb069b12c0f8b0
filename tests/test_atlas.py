"""`python -m reproduce atlas OUT_DIR` on a real demo sweep (12 units × 3 seeds, 40 iterations):
the index's `.run` elements against the store's rows, read statically and in a real headless
Chromium (file:// and a local web server, no console errors), filters and sorts, a unit page's
seeds, curves and command lines (one is run: act_max writes the sweep's bytes), incremental
rewriting, `sweep --atlas`, the redirect, bad input. About 20 s on 2 cores."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from reproduce.conformance.runtimes import LocalServer
from support.atlas import curve_values, file_times, run_elements
from support.paths import REPO_ROOT
from support.sweep import SWEEP, reproduce, store_rows
from tools.headless_chromium import chromium_page, unavailable

UNITS, SEEDS = 12, 3
LABELS = (REPO_ROOT / "models" / "demo" / "labels.txt").read_text().split("\n")


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, str]:
    """A demo sweep with its atlas (the sweep writes it; `atlas` rewrites it with a title);
    returns OUT_DIR and what `atlas` printed."""
    out_dir = tmp_path_factory.mktemp("atlas") / "sweep"
    done = reproduce("sweep", str(out_dir), *SWEEP, "--units", f"0-{UNITS - 1}",
                     "--seeds", f"0-{SEEDS - 1}", "--batch", "12")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("step graph on") + done.stderr.count("step graph on") == 1
    atlas = reproduce("atlas", str(out_dir), "--title", "demo atlas")
    assert atlas.returncode == 0, atlas.stderr
    return out_dir, atlas.stdout


def browser_or_skip() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


def test_index_has_one_run_element_per_row_with_its_attributes(swept):
    out_dir, printed = swept
    tiles = run_elements(out_dir / "atlas" / "index.html")
    rows = store_rows(out_dir)
    assert len(tiles) == len(rows) == UNITS * SEEDS
    assert sorted((int(t["data-unit"]), int(t["data-seed"]), float(t["data-act"]), t["data-set"])
                  for t in tiles) == sorted((r["unit"], r["seed"], r["final_act"], r["set_dir"])
                                            for r in rows)
    acts = [float(tile["data-act"]) for tile in tiles]
    assert acts == sorted(acts, reverse=True)  # the page's own order
    for tile in tiles:
        assert tile["data-label"] == LABELS[int(tile["data-unit"])]  # the sweep's --demo labels
        page, anchor = tile["href"].split("#")
        assert page == f"unit/{int(tile['data-unit']):04d}.html"
        assert f'id="{anchor}"' in (out_dir / "atlas" / page).read_text(encoding="utf-8")
        assert (out_dir / "atlas" / tile["images"][0]).is_file()  # its thumbnail
    assert re.search(r"atlas: .*index\.html \(36 runs, 12 unit pages; [\d.]+ MB in .*, plus "
                     r"[\d.]+ MB of run images it shows", printed)


def test_unit_page_lists_every_seed_with_curve_rank_and_links(swept):
    """The curve is the stored trace (read back from the SVG within its 0.1-unit rounding
    over a 100-unit-high plot: ≤ 0.05 / 100 of the act range); ranks follow final_act."""
    out_dir, _ = swept
    page = out_dir / "atlas" / "unit" / "0003.html"
    runs = run_elements(page)
    rows = {row["seed"]: row for row in store_rows(out_dir) if row["unit"] == 3}
    assert sorted(int(run["data-seed"]) for run in runs) == list(range(SEEDS))
    by_act = sorted(rows, key=lambda seed: -rows[seed]["final_act"])
    text = page.read_text(encoding="utf-8")
    assert f"unit 3: {LABELS[3]}" in text
    assert 'href="0002.html"' in text and 'href="0004.html"' in text
    assert 'rel="prev"' not in (out_dir / "atlas" / "unit" / "0000.html").read_text()
    for run in runs:
        row = rows[int(run["data-seed"])]
        assert float(run["data-act"]) == row["final_act"]
        assert int(run["data-rank"]) == by_act.index(row["seed"]) + 1
        acts = json.loads(row["acts"])
        drawn = curve_values(run)
        tolerance = 0.05 / 100 * (max(acts) - min(acts)) * 1.01
        assert len(drawn) == len(acts) and max(abs(a - b) for a, b in zip(drawn, acts)) <= tolerance
        assert (page.parent / run["images"][0]).resolve() == (out_dir / row["image"]).resolve()


def test_unit_page_command_line_reproduces_the_run(swept, tmp_path):
    out_dir, _ = swept
    (run,) = [run for run in run_elements(out_dir / "atlas" / "unit" / "0005.html")
              if run["data-seed"] == "1"]
    words = shlex.split(run["command"])
    assert words[:4] == ["python", "-m", "reproduce", "act_max"]
    done = reproduce(*words[3:], "--output_dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (row,) = [row for row in store_rows(out_dir) if (row["unit"], row["seed"]) == (5, 1)]
    assert (tmp_path / Path(row["image"]).name).read_bytes() == (out_dir / row["image"]).read_bytes()


def tile_values(page, attribute: str) -> list:
    return page.evaluate(f"[...document.querySelectorAll('#grid .run:not([hidden])')]"
                         f".map(tile => tile.dataset.{attribute})")


def test_index_in_chromium_filters_sorts_and_shows_one_seed(swept):
    browser_or_skip()
    out_dir, _ = swept
    rows = store_rows(out_dir)
    with chromium_page() as (page, errors):
        page.goto((out_dir / "atlas" / "index.html").as_uri())
        page.wait_for_selector("body[data-ready]")
        shown = page.evaluate("[...document.querySelectorAll('.run')].map(t => [+t.dataset.unit,"
                              " +t.dataset.seed, Number(t.dataset.act)])")
        assert sorted(map(tuple, shown)) == sorted((r["unit"], r["seed"], r["final_act"])
                                                   for r in rows)
        page.wait_for_function("[...document.images].slice(0, 8).every(i => i.naturalWidth > 0)")
        page.fill("#label", LABELS[0].upper())
        assert set(tile_values(page, "unit")) == {"0"} and len(tile_values(page, "unit")) == SEEDS
        page.fill("#label", "")
        page.fill("#units", "2-4, 7")
        assert {int(unit) for unit in tile_values(page, "unit")} == {2, 3, 4, 7}
        page.fill("#units", "4-2")  # unreadable: marked, filters nothing
        assert len(tile_values(page, "unit")) == len(rows)
        assert page.evaluate("document.getElementById('units').classList.contains('invalid')")
        page.fill("#units", "")
        page.select_option("#seed", "1")
        assert set(tile_values(page, "seed")) == {"1"} and len(tile_values(page, "seed")) == UNITS
        page.select_option("#seed", "best")
        best = {}
        for row in rows:
            if row["final_act"] > best.get(row["unit"], (None, -1e300))[1]:
                best[row["unit"]] = (row["seed"], row["final_act"])
        assert sorted(zip(map(int, tile_values(page, "unit")), map(int, tile_values(page, "seed")))
                      ) == sorted((unit, seed) for unit, (seed, _) in best.items())
        page.select_option("#seed", "all")
        page.select_option("#sort", "act-asc")
        acts = [float(act) for act in tile_values(page, "act")]
        assert acts == sorted(acts)
        page.select_option("#sort", "unit")
        units = [int(unit) for unit in tile_values(page, "unit")]
        assert units == sorted(units)
        assert page.inner_text("#count") == f"{len(rows)} of {len(rows)} runs"
        page.click(".run >> nth=0")  # a tile opens its unit page at its run
        page.wait_for_url(re.compile(r"/unit/0000\.html#r-"))
        assert not errors, errors


def test_pages_load_over_http_and_file_without_errors(swept):
    """Every seed's image and every curve on a unit page, the index's first thumbnails, and
    the redirect, served by a local web server and from file://; nothing else is fetched (the
    pages name an empty data: icon, so a browser asks no server for /favicon.ico)."""
    browser_or_skip()
    out_dir, _ = swept
    with LocalServer(out_dir) as server, chromium_page() as (page, errors):
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        for base in (server.url, out_dir.as_uri() + "/"):
            page.goto(base + "atlas/unit/0003.html")
            page.wait_for_function("[...document.images].every(i => i.complete)")
            assert page.evaluate("[...document.querySelectorAll('.run img.large')]"
                                 ".map(i => i.naturalWidth)") == [56] * SEEDS
            assert page.locator(".run svg.curve polyline.act").count() == SEEDS
            page.goto(base + "atlas.html")
            page.wait_for_url(re.compile(r"atlas/index\.html$"))
            page.wait_for_selector("body[data-ready]")
            assert page.locator(".run").count() == UNITS * SEEDS
        assert not errors, errors
        assert all(url.startswith((server.url, "file://", "data:")) for url in requested), requested


def test_rerun_rewrites_only_what_changed(swept, tmp_path):
    out_dir = tmp_path / "copy"
    shutil.copytree(swept[0], out_dir)  # keeps modification times
    before = file_times(out_dir)
    again = reproduce("atlas", str(out_dir), "--title", "demo atlas")
    assert again.returncode == 0, again.stderr
    assert "0 of 52 files written" in again.stdout
    assert file_times(out_dir) == before
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join("renamed" if unit == 5 else label
                                for unit, label in enumerate(LABELS)))
    relabelled = reproduce("atlas", str(out_dir), "--title", "demo atlas", "--labels", str(labels))
    assert relabelled.returncode == 0, relabelled.stderr
    after = file_times(out_dir)
    assert {name for name in after if after[name] != before[name]} == {
        "atlas/index.html", "atlas/unit/0005.html"}


def test_sweep_atlas_flag_writes_the_same_atlas(swept, tmp_path):
    out_dir = tmp_path / "copy"
    shutil.copytree(swept[0], out_dir)
    shutil.rmtree(out_dir / "atlas")
    (out_dir / "atlas.html").unlink()
    done = reproduce("sweep", str(out_dir), "--atlas", "--title", "demo atlas")
    assert done.returncode == 0, done.stderr
    for name in ("atlas.html", "atlas/index.html", "atlas/unit/0007.html", "atlas/atlas.js"):
        assert (out_dir / name).read_bytes() == (swept[0] / name).read_bytes(), name
    assert 'http-equiv="refresh" content="0; url=atlas/index.html"' in (
        out_dir / "atlas.html").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--labels", "missing.txt"], "--labels missing.txt: file not found"),
    (["--title"], "expected one argument"),
])
def test_bad_input_is_one_line_and_writes_nothing(swept, tmp_path, flags, message):
    out_dir = tmp_path / "copy"
    shutil.copytree(swept[0], out_dir)
    before = file_times(out_dir)
    done = reproduce("atlas", str(out_dir), *flags)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1
    assert file_times(out_dir) == before


def test_no_store_is_one_line(tmp_path):
    done = reproduce("atlas", str(tmp_path / "nothing"))
    assert done.returncode == 2 and "no sweep store here" in done.stderr
    assert len(done.stderr.splitlines()) == 1 and not (tmp_path / "nothing").exists()
