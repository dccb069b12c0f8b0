"""The paper's five published experiments (../shared/spec/dgn-am.md, "The published experiments").

Each row gives the net, layer, units and hyperparameters the release's shell scripts pass to
act_max.py; `act_max_argv` turns a row into our act_max flags. Official files are looked up under
data/ (release layout); a net's prototxt is the official one when fetched, else the project's own
under models/nets/.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reproduce.official.manifest import data_path

from reproduce.official.manifest import REPO_ROOT  # noqa: E402
PROJECT_NETS = REPO_ROOT / "models" / "nets"
BOUND = "act_range/3x/fc6.txt"
GENERATOR_WEIGHTS = "nets/upconv/fc6/generator.caffemodel"
GENERATOR_PROTOTXT = "nets/upconv/fc6/generator.prototxt"
MEAN = "ilsvrc_2012_mean.mat"


@dataclass(frozen=True)
class NetChoice:
    """A visualised net: official prototxt and weights (data/ paths), our prototxt, its labels."""

    official_prototxt: str
    project_prototxt: Path
    weights: str
    labels: str


NETS = {
    "caffenet": NetChoice("nets/caffenet/caffenet.prototxt", PROJECT_NETS / "caffenet.prototxt",
                          "nets/caffenet/bvlc_reference_caffenet.caffemodel", "misc/synset_words.txt"),
    "places205": NetChoice("nets/placesCNN/places205CNN_deploy_updated.prototxt",
                           PROJECT_NETS / "places205_alexnet_v0.prototxt",
                           "nets/placesCNN/places205CNN_iter_300000.caffemodel",
                           "misc/categoryIndex_places205.txt"),
    "googlenet": NetChoice("nets/googlenet/bvlc_googlenet_updated.prototxt",
                           PROJECT_NETS / "googlenet.prototxt",
                           "nets/googlenet/bvlc_googlenet.caffemodel", "misc/synset_words.txt"),
}


@dataclass(frozen=True)
class Experiment:
    """One row of the table."""

    number: int
    net: str
    act_layer: str
    units: tuple[int, ...]
    xy: int
    n_iters: int
    l2: float
    start_lr: float
    end_lr: float
    init_file: str | None = None  # data/ path of the start image
    debug: bool = False
    crop: tuple[int, int, int] | None = None  # (top, left, size) of each collage panel
    numbered_captions: bool = False


EXPERIMENTS = (
    Experiment(1, "caffenet", "fc8", (643, 624, 304, 629, 437), 0, 200, 0.99, 8.0, 1e-10),
    Experiment(2, "places205", "fc8", (2, 7, 8, 12, 71), 0, 200, 0.99, 8.0, 1e-10),
    Experiment(3, "caffenet", "fc8", (945,), 0, 30, 0.99, 1.0, 1e-10,
               init_file="images/red_pepper.jpg", debug=True),
    Experiment(4, "places205", "conv5", (8, 55, 154, 181, 45), 6, 200, 0.99, 8.0, 1e-10,
               crop=(32, 32, 163), numbered_captions=True),
    Experiment(5, "googlenet", "loss3/classifier", (643, 624, 304, 629, 437), 0, 200, 0.99, 2.0,
               1e-10),
)


def prototxt_for(official: str, project: Path) -> Path:
    """The official prototxt when fetched into data/, else the project's own."""
    fetched = data_path(official)
    return fetched if fetched.is_file() else project


def required_files(experiment: Experiment) -> list[str]:
    """data/ paths an experiment cannot run without."""
    net = NETS[experiment.net]
    needed = [net.weights, GENERATOR_WEIGHTS, BOUND]
    if experiment.init_file:
        needed += [experiment.init_file, MEAN, NETS["caffenet"].weights]
    return needed


def act_max_argv(experiment: Experiment, output_dir: Path, *, n_iters: int | None = None) -> list[str]:
    """The act_max flags of a row (the shell scripts' parameters), all units in one batch."""
    net = NETS[experiment.net]
    argv = ["--act_layer", experiment.act_layer, "--opt_layer", "fc6", "--xy", str(experiment.xy),
            "--n_iters", str(n_iters or experiment.n_iters), "--start_lr", str(experiment.start_lr),
            "--end_lr", str(experiment.end_lr), "--L2", str(experiment.l2), "--seed", "0",
            "--clip", "0", "--bound", str(data_path(BOUND)), "--output_dir", str(output_dir),
            "--net_weights", str(data_path(net.weights)),
            "--net_definition", str(prototxt_for(net.official_prototxt, net.project_prototxt)),
            "--generator_definition", str(prototxt_for(GENERATOR_PROTOTXT,
                                                       PROJECT_NETS / "upconv" / "fc6" / "generator.prototxt")),
            "--generator_weights", str(data_path(GENERATOR_WEIGHTS)),
            "--units", *[str(unit) for unit in experiment.units]]
    if experiment.init_file:
        caffenet = NETS["caffenet"]
        argv += ["--init_file", str(data_path(experiment.init_file)),
                 "--encoder_definition", str(prototxt_for(caffenet.official_prototxt,
                                                          caffenet.project_prototxt)),
                 "--encoder_weights", str(data_path(caffenet.weights)),
                 "--mean_file", str(data_path(MEAN))]
    if experiment.debug:
        argv += ["--debug", "1", "--debug_dir", str(output_dir / "debug")]
    return argv
