"""OUT_DIR/atlas/unit/NNNN.html: one unit's runs, every seed large, with its curve and command.

Per hyperparameter set, one `<figure class="run">` per seed (same data attributes as the
index's tiles, plus `data-rank`): the run's lossless PNG at 227 CSS pixels, its final act and
rank among the unit's seeds, its activation curve (an inline SVG drawn from the store's
per-iteration `acts`: `polyline.act`, a point per iteration to 0.1 unit, and the schedule's
step size, dashed, on a second axis, a straight line as STEP_SIZE is linear in the iteration;
`data-act-min`/`data-act-max` give the vertical scale) and the act_max command line that
reproduces it (reproduce.sweep.run_command). Links: the index, the previous and next unit.
Nothing is fetched and no script runs.
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

from reproduce.step.rules import Schedule
from reproduce.sweep.atlas_index import js_number, shown_act
from reproduce.sweep.atlas_model import AtlasRun, AtlasSet, unit_file_name

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading} · {title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../atlas.css">
</head>
<body class="unit-page">
<header>
<nav><a href="../index.html">all units</a>{previous}{following}</nav>
<h1>{heading}</h1>
{note}</header>
<main class="unit">
{sections}
</main>
</body>
</html>
"""

# the curve's geometry, in SVG user units (= CSS pixels at the stylesheet's size)
WIDTH, HEIGHT = 320, 130
LEFT, RIGHT, TOP, BOTTOM = 40, 280, 8, 108


def scale(values: Sequence[float]) -> tuple[float, float]:
    """The finite values' (low, high), widened when they are all equal."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high == low:
        low, high = low - 0.5, high + 0.5
    return low, high


def points(values: Sequence[float], low: float, high: float) -> str:
    """SVG polyline points, to 0.1 unit: iteration i at x, its value at y (finite values only)."""
    count = len(values)
    span = (RIGHT - LEFT) / max(count - 1, 1)
    return " ".join(f"{LEFT + span * index if count > 1 else (LEFT + RIGHT) / 2:.1f},"
                    f"{BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP):.1f}"
                    for index, value in enumerate(values) if math.isfinite(value))


def curve_svg(acts: Sequence[float], steps: tuple[float, float]) -> str:
    """The activation per iteration (left axis) and the step size (right axis, dashed): the
    line from the first iteration's step to the last one's (STEP_SIZE is linear in i)."""
    act_low, act_high = scale(acts)
    step_low, step_high = scale(steps)
    last = max(len(acts) - 1, 0)
    step_line = [steps[0]] + [math.nan] * (last - 1) + [steps[1]] if last else [steps[0]]
    return (f'<svg class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'data-act-min="{js_number(act_low)}" data-act-max="{js_number(act_high)}" '
            f'data-iterations="{len(acts)}">'
            f'<title>activation per iteration (red) and step size (blue, dashed)</title>'
            f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" '
            f'height="{BOTTOM - TOP}"/>'
            f'<polyline class="step" points="{points(step_line, step_low, step_high)}"/>'
            f'<polyline class="act" points="{points(acts, act_low, act_high)}"/>'
            f'<text x="{LEFT - 3}" y="{TOP + 8}" text-anchor="end">{act_high:.4g}</text>'
            f'<text x="{LEFT - 3}" y="{BOTTOM}" text-anchor="end">{act_low:.4g}</text>'
            f'<text class="step-axis" x="{RIGHT + 3}" y="{TOP + 8}">{step_high:.3g}</text>'
            f'<text class="step-axis" x="{RIGHT + 3}" y="{BOTTOM}">{step_low:.3g}</text>'
            f'<text x="{LEFT}" y="{BOTTOM + 12}">0</text>'
            f'<text x="{(LEFT + RIGHT) / 2}" y="{BOTTOM + 12}" text-anchor="middle">'
            f'iteration (act red, step size blue)</text>'
            f'<text x="{RIGHT}" y="{BOTTOM + 12}" text-anchor="end">{last}</text></svg>')


def end_steps(entry: AtlasSet, iterations: int) -> tuple[float, float]:
    """The schedule's step size at the first and the last iteration run
    (reproduce.step.rules.STEP_SIZE)."""
    schedule = Schedule(entry.n_iters, entry.start_lr, entry.end_lr, 1.0)
    return schedule.step_size(0), schedule.step_size(max(iterations - 1, 0))


def run_figure(run: AtlasRun, entry: AtlasSet, command: str) -> str:
    """One run: image, caption, curve, command line."""
    png = html.escape(f"../../{run.row['image']}")
    acts = run.acts
    return (f'<figure class="run" id="{html.escape(run.anchor)}" data-unit="{run.unit}" '
            f'data-seed="{run.seed}" data-act="{js_number(run.final_act)}" '
            f'data-set="{html.escape(run.set_dir)}" data-rank="{run.rank}">\n'
            f'<a href="{png}"><img class="large" src="{png}" alt="unit {run.unit} seed '
            f'{run.seed}"></a>\n'
            f'<figcaption><b>seed {run.seed}</b>: final act {shown_act(run.final_act)}, '
            f'rank {run.rank} of {run.of}; {len(acts)} iterations</figcaption>\n'
            f'{curve_svg(acts, end_steps(entry, len(acts)))}\n'
            f'<code class="command">{command_html(command)}</code>\n</figure>')


def command_html(command: str) -> str:
    """The command line with each flag and its value kept on one line (a line breaks only
    between them, never after a flag's dashes); its text, as copied, is the command."""
    words = re.split(r" (?=--)", command)
    return " ".join(f'<span class="words">{html.escape(word)}</span>' for word in words)


def neighbour_link(unit: int | None, rel: str, text: str) -> str:
    if unit is None:
        return ""
    return f' <a rel="{rel}" href="{unit_file_name(unit)}">{text}</a>'


def unit_html(unit: int, label: str, runs: Sequence[AtlasRun], sets: Sequence[AtlasSet],
              commands: dict[int, str], title: str, previous: int | None,
              following: int | None, note: str = "") -> str:
    """The unit's page; `runs` are its runs, `commands` each run's command by id(run),
    `note` a line shown under the heading."""
    heading = f"unit {unit}: {label}" if label else f"unit {unit}"
    sections = []
    for entry in sets:
        members = sorted((run for run in runs if run.set_dir == entry.set_dir),
                         key=lambda run: run.seed)
        if members:
            figures = "\n".join(run_figure(run, entry, commands[id(run)]) for run in members)
            sections.append(f'<section class="set" id="{html.escape(entry.set_dir)}">\n'
                            f'<h2>{html.escape(entry.label)}</h2>\n<div class="runs">\n'
                            f'{figures}\n</div>\n</section>')
    return PAGE.format(heading=html.escape(heading), title=html.escape(title),
                       note=f'<p class="note">{html.escape(note)}</p>\n' if note else "",
                       previous=neighbour_link(previous, "prev", f"← unit {previous}"),
                       following=neighbour_link(following, "next", f"unit {following} →"),
                       sections="\n".join(sections))
