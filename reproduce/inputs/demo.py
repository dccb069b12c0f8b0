"""The project's demo pair (models/demo/): its files and the settings of its published-loop run,
read from models/demo/demo.json in one place for every command that takes `--demo`.

demo.json names the generator and classifier files, the bound file and the labels (paths
relative to its folder) and the run the demo collage shows (act layer, units, seed, xy and the
published loop's n_iters, L2, start_lr, end_lr).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError
from reproduce.official.locations import project_path

DEMO_DIR = project_path("models/demo")
NET_FILE_KEYS = ("generator_definition", "generator_weights", "net_definition", "net_weights")


@dataclass(frozen=True)
class DemoSettings:
    """demo.json with its paths resolved against the demo folder."""

    folder: Path
    generator_definition: str
    generator_weights: str
    net_definition: str
    net_weights: str
    bound: str | None
    labels: str | None
    act_layer: str
    units: tuple[int, ...]
    seed: int
    xy: int
    n_iters: int
    L2: float
    start_lr: float
    end_lr: float

    @property
    def net_files(self) -> dict[str, str]:
        """The four Caffe files by role (the act_max flag names without dashes)."""
        return {key: getattr(self, key) for key in NET_FILE_KEYS}


def demo_settings(demo_dir: str | Path = DEMO_DIR) -> DemoSettings:
    """The demo pair's settings; a UserError naming the file when demo.json is missing or lacks
    a field."""
    folder = Path(demo_dir)
    settings_file = folder / "demo.json"
    if not settings_file.is_file():
        raise UserError(f"{settings_file}: missing; the demo models are not built yet "
                        "(python -m models.demo.train_demo)")
    try:
        raw = json.loads(settings_file.read_text())
        optional_file = lambda key: str(folder / raw[key]) if raw.get(key) else None  # noqa: E731
        return DemoSettings(folder, *(str(folder / raw[key]) for key in NET_FILE_KEYS),
                            bound=optional_file("bound"), labels=optional_file("labels"),
                            act_layer=raw["act_layer"], units=tuple(raw["units"]),
                            seed=int(raw.get("seed", 0)), xy=int(raw.get("xy", 0)),
                            n_iters=int(raw["n_iters"]), L2=float(raw["L2"]),
                            start_lr=float(raw["start_lr"]), end_lr=float(raw["end_lr"]))
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{settings_file}: not a valid demo settings file ({error!r})") from None
