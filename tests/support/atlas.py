"""Reading the atlas's pages back (reproduce.sweep.atlas) the way a script would: with an HTML
parser, not the page's own script."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class RunElements(HTMLParser):
    """Every element with class `run`: its tag and attributes, plus, inside it, the curve's
    `svg` attributes, its `polyline.act` points and the text of `code.command`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[dict] = []
        self.inside: dict | None = None
        self.in_command = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if "run" in classes:
            self.inside = {"tag": tag, **attributes, "command": ""}
            self.runs.append(self.inside)
        elif self.inside is not None:
            if tag == "svg" and "curve" in classes:
                self.inside["svg"] = attributes
            elif tag == "polyline" and "act" in classes:
                self.inside["points"] = [tuple(map(float, point.split(",")))
                                         for point in attributes["points"].split()]
            elif tag == "img":
                self.inside.setdefault("images", []).append(attributes["src"])
            elif tag == "code" and "command" in classes:
                self.in_command = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.in_command = False
        elif self.inside is not None and tag == self.inside["tag"]:
            self.inside = None

    def handle_data(self, data: str) -> None:
        if self.in_command and self.inside is not None:
            self.inside["command"] += data


def run_elements(page: Path) -> list[dict]:
    """The `.run` elements of a page, in document order."""
    parser = RunElements()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.runs


def curve_values(run: dict) -> list[float]:
    """The activation per iteration a unit page's curve draws, read back from its points
    (reproduce.sweep.atlas_unit's geometry: value `high` at y=TOP, `low` at y=BOTTOM)."""
    from reproduce.sweep.atlas_unit import BOTTOM, TOP
    low, high = float(run["svg"]["data-act-min"]), float(run["svg"]["data-act-max"])
    return [low + (BOTTOM - y) / (BOTTOM - TOP) * (high - low) for _, y in run["points"]]


def file_times(folder: Path) -> dict[str, int]:
    """Relative path → modification time (ns) of every file under the folder."""
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns
            for path in sorted(folder.rglob("*")) if path.is_file()}
