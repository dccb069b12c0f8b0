"""OUT_DIR/atlas.html: a static page to browse a sweep (plain HTML + JS, nothing fetched).

One tile per run: the release-named JPEG (by its path relative to OUT_DIR, linked to the
lossless PNG), the unit with its label when a labels file is given, the seed and final_act.
Controls: the hyperparameter set (or all), a text filter on unit, label or seed, the sort
(final_act high → low or low → high, unit, seed). The runs are embedded as JSON in the page,
so it works from file:// with no server; it is rewritten (atomically) after every sweep.
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

from common.atomic import atomic_write_bytes
from reproduce.outputs.labels import read_labels

ATLAS_NAME = "atlas.html"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; background: #fafafa; }}
#controls {{ display: flex; gap: 1em; flex-wrap: wrap; align-items: center; margin-bottom: 1em; }}
#grid {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure.tile {{ margin: 0; width: 140px; background: #fff; border: 1px solid #ddd; padding: 4px; }}
figure.tile img {{ width: 140px; height: 140px; object-fit: contain; image-rendering: pixelated; }}
figcaption {{ font-size: 12px; line-height: 1.3; overflow-wrap: anywhere; }}
.act {{ font-weight: bold; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p id="summary">{summary}</p>
<div id="controls">
<label>hyperparameter set <select id="set"><option value="">all sets</option>
{set_options}</select></label>
<label>filter <input id="filter" type="search" placeholder="unit, label or seed"></label>
<label>sort <select id="sort">
<option value="act-desc">final_act, high → low</option>
<option value="act-asc">final_act, low → high</option>
<option value="unit">unit, then seed</option>
<option value="seed">seed, then unit</option>
</select></label>
<span id="count"></span>
</div>
<div id="grid"></div>
<script type="application/json" id="runs">{runs_json}</script>
<script>
const runs = JSON.parse(document.getElementById("runs").textContent);
const controls = ["set", "filter", "sort"].map(id => document.getElementById(id));
const actOf = run => run.final_act === null ? -Infinity : run.final_act;  // null: not finite
const comparators = {{
  "act-desc": (a, b) => actOf(b) - actOf(a),
  "act-asc": (a, b) => actOf(a) - actOf(b),
  "unit": (a, b) => a.unit - b.unit || a.seed - b.seed,
  "seed": (a, b) => a.seed - b.seed || a.unit - b.unit,
}};
function render() {{
  const [set, filter, sort] = controls.map(control => control.value);
  const needle = filter.trim().toLowerCase();
  const shown = runs.filter(run => (!set || run.set === set) && (!needle ||
      String(run.unit) === needle || String(run.seed) === needle ||
      (run.label || "").toLowerCase().includes(needle)))
    .sort((a, b) => comparators[sort](a, b) || a.set.localeCompare(b.set));
  const grid = document.getElementById("grid");
  grid.replaceChildren(...shown.map(run => {{
    const tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.unit = run.unit;
    tile.dataset.seed = run.seed;
    tile.dataset.set = run.set;
    const link = document.createElement("a");
    link.href = run.png;
    const image = document.createElement("img");
    image.src = run.jpeg;
    image.loading = "lazy";
    image.alt = `unit ${{run.unit}} seed ${{run.seed}}`;
    link.append(image);
    const caption = document.createElement("figcaption");
    const act = document.createElement("span");
    act.className = "act";
    act.textContent = run.final_act === null ? "not finite" : run.final_act.toPrecision(5);
    caption.append(`unit ${{run.unit}}${{run.label ? " " + run.label : ""}}, seed ${{run.seed}}: `,
                   act, document.createElement("br"), run.set_label);
    tile.append(link, caption);
    return tile;
  }}));
  document.getElementById("count").textContent = `${{shown.length}} of ${{runs.length}} runs`;
}}
controls.forEach(control => control.addEventListener("input", render));
render();
</script>
</body>
</html>
"""


def set_label(row: dict[str, object]) -> str:
    """A hyperparameter set in words: `fc8 xy 0, 200 iters, L2 0.99, lr 8.0 → 1e-10, bound`."""
    return (f"{row['act_layer']} xy {row['xy']}, {row['n_iters']} iters, L2 {row['L2']}, "
            f"lr {row['start_lr']} → {row['end_lr']}, {row['code_mode']}")


def finite_or_none(value: object) -> float | None:
    """JSON has no NaN or infinity: those become null (shown as "not finite", sorted lowest)."""
    return float(value) if math.isfinite(float(value)) else None


def atlas_entries(rows: Sequence[dict[str, object]], labels: dict[int, str]) -> list[dict]:
    """What the page embeds per run (paths relative to OUT_DIR, as in the store)."""
    return [{"set": row["set_dir"], "set_label": set_label(row), "unit": row["unit"],
             "seed": row["seed"], "final_act": finite_or_none(row["final_act"]),
             "jpeg": row["jpeg"], "png": row["image"],
             "label": labels.get(int(row["unit"]), "")} for row in rows]


def atlas_html(rows: Sequence[dict[str, object]], labels: dict[int, str], title: str) -> str:
    """The page for these store rows."""
    entries = atlas_entries(rows, labels)
    sets = {entry["set"]: entry["set_label"] for entry in entries}
    options = "".join(f'<option value="{html.escape(name)}">{html.escape(label)}</option>'
                      for name, label in sorted(sets.items()))
    runs_json = json.dumps(entries, ensure_ascii=False).replace("</", "<\\/")
    summary = f"{len(entries)} runs in {len(sets)} hyperparameter set(s)"
    return PAGE.format(title=html.escape(title), summary=summary, set_options=options,
                       runs_json=runs_json)


def write_atlas(out_dir: str | Path, rows: Sequence[dict[str, object]],
                labels_file: str | Path | None = None) -> Path:
    """Writes OUT_DIR/atlas.html atomically; returns its path."""
    out_dir = Path(out_dir)
    page = atlas_html(rows, read_labels(labels_file), f"DGN-AM sweep atlas: {out_dir.name}")
    path = out_dir / ATLAS_NAME
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
