"""The paper's five published experiments (docs/method.md, "The five experiments").

Each row gives the net, layer, units and hyperparameters the release's shell scripts pass to
act_max.py; `experiment_job` turns a row into a Job (reproduce.run.job). Official files are looked up under
data/ (release layout); a net's prototxt is the official one when fetched, else the project's own
under models/nets/.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reproduce.inputs.demo import DemoSettings
from reproduce.official.locations import project_path
from reproduce.official.manifest import data_path
from reproduce.run.job import Job, NetFiles, StartImage
from reproduce.step.rules import Schedule

PROJECT_NETS = project_path("models/nets")
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


def experiment_job(experiment: Experiment, *, n_iters: int | None = None,
                   providers: str | None = None, threads: int | None = None) -> Job:
    """The Job of a row (the shell scripts' parameters: seed 0, no clip, the 3x fc6 bound),
    all units in one batch."""
    net = NETS[experiment.net]
    nets = NetFiles(str(prototxt_for(GENERATOR_PROTOTXT,
                                     PROJECT_NETS / "upconv" / "fc6" / "generator.prototxt")),
                    str(data_path(GENERATOR_WEIGHTS)),
                    str(prototxt_for(net.official_prototxt, net.project_prototxt)),
                    str(data_path(net.weights)))
    start = None
    if experiment.init_file:
        caffenet = NETS["caffenet"]
        start = StartImage(str(data_path(experiment.init_file)),
                           str(prototxt_for(caffenet.official_prototxt, caffenet.project_prototxt)),
                           str(data_path(caffenet.weights)), str(data_path(MEAN)), "fc6")
    schedule = Schedule.from_flags(n_iters or experiment.n_iters, experiment.start_lr,
                                   experiment.end_lr, experiment.l2)
    return Job.product(nets, experiment.act_layer, experiment.units, (0,), schedule,
                       xy=experiment.xy, start=start, bound=str(data_path(BOUND)),
                       providers=providers, threads=threads, record_stepped=experiment.debug)


def demo_job(demo: DemoSettings, *, n_iters: int | None = None, providers: str | None = None,
             threads: int | None = None) -> Job:
    """The published loop on the project's demo pair, with demo.json's settings."""
    nets = NetFiles(demo.generator_definition, demo.generator_weights, demo.net_definition,
                    demo.net_weights)
    schedule = Schedule.from_flags(n_iters or demo.n_iters, demo.start_lr, demo.end_lr, demo.L2)
    return Job.product(nets, demo.act_layer, demo.units, (demo.seed,), schedule, xy=demo.xy,
                       bound=demo.bound, providers=providers, threads=threads)
