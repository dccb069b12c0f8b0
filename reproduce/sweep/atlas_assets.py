"""The atlas's two static assets, written beside index.html: atlas.css and atlas.js.

atlas.js runs on the index only. The runs are already in the page, as `.run` elements in
the default order (final act, high to low), so nothing is fetched and nothing is built at
load: the script reads each element's data attributes once and then only hides, shows and
reorders them. Controls: label text (substring, case-insensitive), unit range (the sweep's
SPEC syntax: `a-b`, `a,b,c` or a mix; empty: all), seed (all, one seed, or each unit's
best), hyperparameter set, sort (final act high → low, low → high, unit then seed). A unit
range it cannot read marks its field invalid and filters nothing. When done it sets
`document.body.dataset.ready` (what tests and the benchmark wait for) and
`window.atlasReadyMs` (milliseconds since navigation start).
"""
from __future__ import annotations

CSS = """\
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f6f6; color: #222; }
header { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid #ddd;
         padding: 0.5em 1em; }
h1 { font-size: 1.3em; margin: 0.2em 0; }
h2 { font-size: 1.05em; margin: 1em 0 0.5em; }
#controls { display: flex; gap: 0.8em; flex-wrap: wrap; align-items: center; font-size: 14px; }
#controls input.invalid { outline: 2px solid #c00; }
#grid { display: flex; flex-wrap: wrap; gap: 6px; padding: 1em; }
a.run { display: block; width: 112px; background: #fff; border: 1px solid #ddd; padding: 3px;
        color: inherit; text-decoration: none; content-visibility: auto;
        contain-intrinsic-size: 120px 160px; }
a.run:hover { border-color: #36c; }
a.run img { width: 112px; height: 112px; object-fit: contain; image-rendering: pixelated;
            display: block; background: #eee; }
a.run span { display: block; font-size: 11px; line-height: 1.3; overflow-wrap: anywhere;
             white-space: pre-line; }
a.run[hidden] { display: none; }
nav { font-size: 14px; margin: 0.5em 0; }
nav a { margin-right: 1em; }
main.unit { padding: 0 1em 2em; }
.runs { display: flex; flex-wrap: wrap; gap: 12px; }
figure.run { margin: 0; background: #fff; border: 1px solid #ddd; padding: 8px; width: 320px; }
figure.run img.large { width: 227px; height: 227px; object-fit: contain;
                       image-rendering: pixelated; display: block; margin: 0 auto; }
figure.run figcaption { font-size: 13px; margin: 4px 0; }
svg.curve { width: 320px; height: 130px; display: block; }
svg.curve .act { fill: none; stroke: #c33; stroke-width: 1.5; }
svg.curve .step { fill: none; stroke: #36c; stroke-width: 1; stroke-dasharray: 4 3; }
svg.curve .frame { fill: none; stroke: #999; stroke-width: 0.5; }
svg.curve text { font-size: 9px; fill: #555; }
svg.curve text.step-axis { fill: #36c; }
code.command { display: block; font-size: 11px; background: #f0f0f0; padding: 4px;
               white-space: pre-wrap; overflow-wrap: break-word; user-select: all; }
code.command span.words { display: inline-block; max-width: 100%; overflow-wrap: anywhere; }
"""

JS = """\
"use strict";
(function () {
  const grid = document.getElementById("grid");
  const field = id => document.getElementById(id);
  const runs = Array.from(grid.children, element => ({
    element,
    unit: Number(element.dataset.unit),
    seed: Number(element.dataset.seed),
    act: Number(element.dataset.act),
    set: element.dataset.set,
    label: (element.dataset.label || "").toLowerCase(),
  }));
  const rankAct = run => (Number.isNaN(run.act) ? -Infinity : run.act);
  const best = new Map();  // "set unit" -> that unit's best run in that set
  for (const run of runs) {
    const key = run.set + " " + run.unit;
    const held = best.get(key);
    if (held === undefined || rankAct(run) > rankAct(held)) best.set(key, run);
  }
  function parseUnits(text) {  // the sweep's SPEC syntax; null: all; undefined: unreadable
    const spec = text.trim();
    if (spec === "" || spec.toLowerCase() === "all") return null;
    const ranges = [];
    for (const item of spec.split(",")) {
      const match = /^\\s*(\\d+)\\s*(?:-\\s*(\\d+)\\s*)?$/.exec(item);
      if (!match) return undefined;
      const low = Number(match[1]);
      const high = match[2] === undefined ? low : Number(match[2]);
      if (high < low) return undefined;
      ranges.push([low, high]);
    }
    return ranges;
  }
  const comparators = {
    "act-desc": (a, b) => rankAct(b) - rankAct(a) || a.unit - b.unit || a.seed - b.seed,
    "act-asc": (a, b) => rankAct(a) - rankAct(b) || a.unit - b.unit || a.seed - b.seed,
    "unit": (a, b) => a.unit - b.unit || a.seed - b.seed || rankAct(b) - rankAct(a),
  };
  let sortedBy = "act-desc";  // the page's own order
  function sort(order) {
    if (order === sortedBy || !(order in comparators)) return;
    const fragment = document.createDocumentFragment();
    for (const run of runs.slice().sort(comparators[order])) fragment.append(run.element);
    grid.append(fragment);
    sortedBy = order;
  }
  function filter() {
    const needle = field("label").value.trim().toLowerCase();
    const units = parseUnits(field("units").value);
    field("units").classList.toggle("invalid", units === undefined);
    const seed = field("seed").value;
    const set = field("set").value;
    let shown = 0;
    for (const run of runs) {
      const show = (!needle || run.label.includes(needle)) &&
          (!units || units.some(([low, high]) => run.unit >= low && run.unit <= high)) &&
          (seed === "all" || (seed === "best" ? best.get(run.set + " " + run.unit) === run
                                              : run.seed === Number(seed))) &&
          (!set || run.set === set);
      if (run.element.hidden === show) run.element.hidden = !show;
      if (show) shown += 1;
    }
    field("count").textContent = shown + " of " + runs.length + " runs";
  }
  for (const id of ["label", "units", "seed", "set"]) field(id).addEventListener("input", filter);
  field("sort").addEventListener("input", () => sort(field("sort").value));
  sort(field("sort").value);  // a reload keeps the controls' values
  filter();
  window.atlasReadyMs = performance.now();
  document.body.dataset.ready = "1";
})();
"""
