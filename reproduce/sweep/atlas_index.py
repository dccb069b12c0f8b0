"""OUT_DIR/atlas/index.html: every run as one `.run` tile, in the page itself (no data fetched).

Each tile is `<a class="run" href="unit/NNNN.html#RUN" data-unit data-seed data-act data-set
[data-label]>` holding its lazily loaded thumbnail and a caption; `data-act` is the run's
final_act written exactly (Python's repr of the stored double: `float(data_act)` gives the
stored value back; not-finite values as JavaScript writes them: NaN, Infinity, -Infinity).
The tiles come in the default order (final act high → low, not-finite last; ties by unit,
seed, set); reproduce.sweep.atlas_assets's script filters and reorders them.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence

from reproduce.sweep.atlas_model import AtlasRun, AtlasSet

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="atlas.css">
</head>
<body class="index">
<header>
<h1>{title}</h1>
<p id="summary">{summary}</p>
<form id="controls" autocomplete="off" onsubmit="return false">
<label>label <input id="label" type="search" placeholder="label text"></label>
<label>units <input id="units" type="search" placeholder="e.g. 0-99,250" size="12"></label>
<label>seeds <select id="seed">
<option value="all">all seeds</option>
<option value="best">each unit's best</option>
{seed_options}</select></label>
<label>set <select id="set">
<option value="">all sets</option>
{set_options}</select></label>
<label>sort <select id="sort">
<option value="act-desc">final act, high → low</option>
<option value="act-asc">final act, low → high</option>
<option value="unit">unit, then seed</option>
</select></label>
<output id="count">{count} of {count} runs</output>
</form>
</header>
<main id="grid">
{tiles}
</main>
<script src="atlas.js"></script>
</body>
</html>
"""


def js_number(value: float) -> str:
    """The exact double as text both float() and JavaScript's Number() read back."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def shown_act(value: float) -> str:
    return f"{value:.5g}" if math.isfinite(value) else "not finite"


def tile(run: AtlasRun) -> str:
    """One run's `.run` element: three nodes (link, thumbnail, a two-line caption; the
    stylesheet sizes the image and breaks the line), as few as parsing 10,000 of them asks."""
    label = html.escape(run.label)
    label_attribute = f' data-label="{label}"' if run.label else ""
    caption = f"{run.unit} {label}".rstrip()
    return (f'<a class="run" href="{html.escape(run.unit_href)}" data-unit="{run.unit}" '
            f'data-seed="{run.seed}" data-act="{js_number(run.final_act)}" '
            f'data-set="{html.escape(run.set_dir)}"{label_attribute}>'
            f'<img src="{html.escape(run.thumbnail)}" loading="lazy" alt="">'
            f'<span>{caption}\nseed {run.seed} · {shown_act(run.final_act)}</span></a>')


def default_order(run: AtlasRun) -> tuple:
    act = run.final_act
    return (-act if math.isfinite(act) else math.inf, run.unit, run.seed, run.set_dir)


def index_html(runs: Sequence[AtlasRun], sets: Sequence[AtlasSet], title: str) -> str:
    """The index page for these runs."""
    seeds = sorted({run.seed for run in runs})
    units = {run.unit for run in runs}
    seed_options = "".join(f'<option value="{seed}">seed {seed}</option>\n' for seed in seeds)
    set_options = "".join(f'<option value="{html.escape(entry.set_dir)}">'
                          f'{html.escape(entry.label)}</option>\n' for entry in sets)
    summary = (f"{len(runs)} runs: {len(units)} units, {len(seeds)} seed(s), {len(sets)} "
               f"hyperparameter set(s). Each tile opens its unit's page.")
    tiles = "\n".join(tile(run) for run in sorted(runs, key=default_order))
    return PAGE.format(title=html.escape(title), summary=summary, seed_options=seed_options,
                       set_options=set_options, count=len(runs), tiles=tiles)
