"""Where the project's own files are, run from a checkout or installed (`pip install .`).

One rule, used by every module that needs a file the project ships (models/: the demo pair,
the deploy prototxts, the manifest; web/) or a folder it writes by default (data/, output/):

* **Checkout** (`python -m reproduce` in the repository, or `./run_all.sh`): the repository's
  own `models/` and `web/`; the official files under `data/` and results under `output/` in the
  repository, as before.
* **Installed** (the `dgn-am` command of a wheel): `models/` is the copy the wheel ships as
  package data, `reproduce/project_data/models/` (pyproject.toml maps the checkout's `models/`
  there, and the browser page's sources and npm pins of `web/` to `reproduce/project_data/web/`;
  the conformance harness's node_modules are not shipped, so those runtimes report themselves
  not installed); the
  official files go to the user's data folder (`$XDG_DATA_HOME/dgn-am`, else
  `~/.local/share/dgn-am`) and results to `output/` in the current directory.

Which of the two is decided by the installed copy being there: a checkout has no
`reproduce/project_data/`. `DGN_AM_DATA` still moves the data root either way
(reproduce.official.manifest.data_root).
"""
from __future__ import annotations

import os
from pathlib import Path

INSTALLED_ROOT = Path(__file__).resolve().parents[1] / "project_data"  # reproduce/project_data
CHECKOUT_ROOT = Path(__file__).resolve().parents[2]  # the repository: reproduce/official/ is two below


def code_root() -> Path:
    """The folder holding the packages common/, converters/ and reproduce/: the checkout, or the
    site-packages folder of an installed copy (what hashes of the project's own code read)."""
    return CHECKOUT_ROOT


def installed() -> bool:
    """Whether this is an installed copy (its package data present) rather than a checkout."""
    return INSTALLED_ROOT.is_dir()


def project_path(relative: str) -> Path:
    """A file or folder the project ships, given as in the repository (`models/demo/demo.json`):
    the checkout's own, or the installed package data's."""
    return (INSTALLED_ROOT if installed() else CHECKOUT_ROOT) / relative


def default_data_root() -> Path:
    """Where the official files go when DGN_AM_DATA is not set: data/ in the checkout, else the
    user's data folder ($XDG_DATA_HOME/dgn-am or ~/.local/share/dgn-am)."""
    if not installed():
        return CHECKOUT_ROOT / "data"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dgn-am"


def default_output_dir() -> Path:
    """Where `experiments` writes by default: output/ in the checkout, else in the current folder."""
    return (Path.cwd() if installed() else CHECKOUT_ROOT) / "output"
