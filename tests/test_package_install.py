"""`pip install .` gives working console commands, run from a folder outside the checkout.

The checkout's files (tracked and new, as `git ls-files -co --exclude-standard` lists them) are
copied to a temporary folder, as a clone would have them, and built into a wheel there with the
test venv's setuptools (offline: --no-build-isolation --no-index); the wheel is installed with
--no-deps into two throw-away venvs (`venv --without-pip`, pip driven from the test venv with
`--python`): a bare one (no dependencies: the commands must say how to set up, in one line) and
one whose site-packages add the test venv's (a .pth file), which has every dependency. All of
it lives in one temporary folder removed at the end. Added time: ~15 s on 2 cores.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import onnx
import pytest

from converters.__main__ import main as converters_main
from reproduce.__main__ import main as reproduce_main
from support.paths import REPO_ROOT

# The data files the code reads through reproduce.official.locations.project_path.
PACKAGE_DATA = ("models/manifest.json", "models/demo/demo.json", "models/demo/classifier.prototxt",
                "models/demo/classifier.caffemodel", "models/demo/generator.prototxt",
                "models/demo/generator.caffemodel", "models/demo/fc6_3x.txt",
                "models/demo/labels.txt", "models/nets/caffenet.prototxt",
                "models/nets/googlenet.prototxt", "models/nets/places205_alexnet_v0.prototxt",
                "models/nets/upconv/fc6/generator.prototxt")
INSTALLED_DATA = "reproduce/project_data/"  # pyproject.toml: models/ → reproduce/project_data/models
DEMO_RUN = ("act_max", "--demo", "--unit", "3", "--n_iters", "2", "--output_dir", "OUT")
DEMO_IMAGE = "fc8_0003_02_1.0_2.0__0.jpg"


def checkout_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    return [name for name in listed if name and (REPO_ROOT / name).is_file()
            and not (REPO_ROOT / name).is_symlink()]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def make_venv(folder: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A venv without pip holding only the wheel (no dependencies); returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    done = run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                "--no-index", str(wheel)], folder, env)
    assert done.returncode == 0, done.stderr
    return folder / "bin"


def site_packages(bin_dir: Path) -> Path:
    python = bin_dir / "python"
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())


@pytest.fixture(scope="module")
def installed():
    """(work folder, wheel, bare venv's bin, full venv's bin, environment) for the commands."""
    with tempfile.TemporaryDirectory(prefix="dgn-am-install-") as name:
        work = Path(name)
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
        env.update(DGN_AM_CACHE=str(work / "cache"), XDG_DATA_HOME=str(work / "data_home"),
                   OMP_NUM_THREADS="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        source = work / "src"
        for relative in checkout_files():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / relative, source / relative)
        built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                     "--no-index", "-w", str(work / "wheels"), str(source)], work, env)
        assert built.returncode == 0, built.stderr
        (wheel,) = (work / "wheels").glob("dgn_am-*.whl")
        bare = make_venv(work / "bare", wheel, env)
        full = make_venv(work / "full", wheel, env)
        test_venv = sysconfig.get_paths()["purelib"]
        (site_packages(full) / "test_venv_dependencies.pth").write_text(
            f"import site; site.addsitedir({test_venv!r})\n")
        elsewhere = work / "elsewhere"
        elsewhere.mkdir()
        yield elsewhere, wheel, bare, full, env


def test_wheel_holds_every_module_of_the_checkout_and_the_package_data(installed):
    _, wheel, _, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {name for name in checkout_files() if name.endswith(".py")
               and name.split("/")[0] in ("common", "converters", "reproduce")}
    assert modules - names == set(), "modules missing from the wheel (pyproject.toml packages)"
    assert {INSTALLED_DATA + name for name in PACKAGE_DATA} - names == set()
    assert not any(name.startswith(("tests/", "tools/", "benchmarks/")) for name in names)


def test_without_dependencies_each_command_prints_how_to_set_up(installed):
    elsewhere, _, bare, _, env = installed
    for command in ("dgn-am", "dgn-am-convert"):
        done = run([str(bare / command), "--help"], elsewhere, env)
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"{command}: error: the Python package ")
        assert "./run_all.sh" in line and "pip install ." in line


def test_installed_command_runs_the_installed_code_and_data(installed):
    elsewhere, _, _, full, env = installed
    probe = ("import reproduce; from reproduce.official.locations import installed, project_path; "
             "print(reproduce.__file__); print(installed()); print(project_path('models/demo'))")
    done = run([str(full / "python"), "-c", probe], elsewhere, env)
    assert done.returncode == 0, done.stderr
    module, is_installed, demo = done.stdout.splitlines()
    venv = full.parent
    assert Path(module).is_relative_to(venv) and is_installed == "True"
    assert Path(demo).is_relative_to(venv) and (Path(demo) / "demo.json").is_file()


def test_dgn_am_help_lists_the_subcommands_of_python_m_reproduce(installed, capsys):
    elsewhere, _, _, full, env = installed
    done = run([str(full / "dgn-am"), "--help"], elsewhere, env)
    assert done.returncode == 0, done.stderr
    with pytest.raises(SystemExit):
        reproduce_main(["--help"], prog="dgn-am")
    assert done.stdout == capsys.readouterr().out


def test_dgn_am_act_max_demo_writes_the_checkouts_image_from_another_folder(installed, tmp_path,
                                                                           monkeypatch):
    elsewhere, _, _, full, env = installed
    done = run([str(full / "dgn-am"), *DEMO_RUN], elsewhere, env)
    assert done.returncode == 0, done.stderr
    image = elsewhere / "OUT" / DEMO_IMAGE
    assert image.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    monkeypatch.chdir(tmp_path)  # the checkout's own run, for comparison
    monkeypatch.setenv("DGN_AM_CACHE", str(tmp_path / "cache"))
    assert reproduce_main(list(DEMO_RUN)) == 0
    assert image.read_bytes() == (tmp_path / "OUT" / DEMO_IMAGE).read_bytes()


def test_dgn_am_convert_caffe2onnx_converts_the_installed_demo_classifier(installed, tmp_path):
    elsewhere, _, _, full, env = installed
    demo = site_packages(full) / INSTALLED_DATA / "models" / "demo"
    done = run([str(full / "dgn-am-convert"), "caffe2onnx", str(demo / "classifier.prototxt"),
                str(demo / "classifier.caffemodel"), "-o", "classifier.onnx"], elsewhere, env)
    assert done.returncode == 0, done.stderr
    converted = elsewhere / "classifier.onnx"
    onnx.checker.check_model(onnx.load(str(converted)))
    checkout = REPO_ROOT / "models" / "demo"
    assert converters_main(["caffe2onnx", str(checkout / "classifier.prototxt"),
                            str(checkout / "classifier.caffemodel"), "-o",
                            str(tmp_path / "classifier.onnx")]) == 0
    assert converted.read_bytes() == (tmp_path / "classifier.onnx").read_bytes()
