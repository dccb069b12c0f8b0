"""Issue 22 item 4: a layer name never puts a file outside `--output_dir`.

ONNX tensor names from torch's classic exporter start with "/" and may hold "..": act_max
names its images after the layer through reproduce.outputs.names.layer_slug, one path
component with no separator and no "..". Caffe's names (already safe) keep the release's
file-name pattern.
"""
from __future__ import annotations

import os

import onnx
import pytest

from reproduce.outputs.images import result_file_name
from reproduce.outputs.names import MAX_SLUG, layer_slug
from support.onnx_small_models import named_chain
from support.own_network import DEMO, act_max

EVIL = ["/x", "../x", "a/../../x", "n" * 300]
GENERATOR = ("--generator_definition", str(DEMO / "generator.prototxt"),
             "--generator_weights", str(DEMO / "generator.caffemodel"))


def _files_under(folder) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_act_max_writes_every_evil_layer_name_inside_the_output_dir(tmp_path):
    """The four names as --act_layer: each run's files are directly in --output_dir (a fresh
    folder two levels down), nothing is written anywhere else under tmp_path."""
    model = tmp_path / "models" / "named.onnx"
    model.parent.mkdir()
    onnx.save(named_chain(EVIL), str(model))
    before = _files_under(tmp_path)
    output = tmp_path / "deep" / "out"
    for name in EVIL:
        assert act_max("--net_onnx", str(model), "--act_layer", name, "--unit", "1",
                       "--n_iters", "1", "--no_cache", *GENERATOR, "--output_dir", str(output)) == 0
    written = _files_under(tmp_path) - before
    assert written and all(path.startswith(os.path.join("deep", "out") + os.sep) for path in written)
    names = {os.path.relpath(path, os.path.join("deep", "out")) for path in written}
    assert len(names) == 2 * len(EVIL)  # a JPEG and a PNG per name, no two names the same
    for name in names:
        assert os.sep not in name and "/" not in name and ".." not in name
        assert len(name) < 255 and not name.startswith(".")


@pytest.mark.parametrize("name", EVIL + ["..", ".", "", "a\\b", "x/", "./x", "a..b"])
def test_a_slug_is_one_safe_component(name):
    slug = layer_slug(name)
    assert slug and "/" not in slug and "\\" not in slug and ".." not in slug
    assert not slug.startswith(".") and len(slug) <= MAX_SLUG + 7
    assert slug != name


def test_caffe_names_keep_the_release_pattern_and_slugs_differ():
    assert result_file_name("fc8", 643, 200, 0.99, 8.0, 0) == "fc8_0643_200_0.99_8.0__0.jpg"
    for name in ("conv5", "fc6", "pool5", "inception_4a-output", "conv1.1"):
        assert layer_slug(name) == name
    assert layer_slug("/layer4/relu/Relu_output_0").startswith("layer4_relu_Relu_output_0-")
    assert len({layer_slug(name) for name in ("a/b", "a_b", "a:b", "/a/b")}) == 4
