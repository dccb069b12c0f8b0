"""The converters' two registries (Caffe layer type → converter, ONNX op → gradient rule):
filled by discovery of their packages' modules, a duplicate is an error, a new layer type or
rule is one new file, and the reader sits below the layer registry."""
from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from converters.caffe import layers as caffe_layers
from converters.caffe.layers import CONVERTERS, SUPPORTED_TYPES, RegisteredConverter
from converters.caffe.legacy_types import V0_NAME_TO_V1_ENUM, V1_ENUM_TO_TYPE
from converters.caffe.schema import V1LayerParameter
from converters.registry import DuplicateRegistrationError
from converters.vjp import rules as vjp_rules
from converters.vjp.rules import RULES
from support.paths import REPO_ROOT


def _python(code: str, *, path: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=path,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(path), "OMP_NUM_THREADS": "1",
                               "PATH": "/usr/bin:/bin"})


def test_a_second_caffe_converter_for_a_type_is_an_error():
    before = dict(CONVERTERS)
    with pytest.raises(DuplicateRegistrationError, match="'ReLU'.*activation.relu"):
        caffe_layers.register("ReLU")(lambda graph, layer, bottoms: bottoms)
    assert CONVERTERS == before


def test_a_second_gradient_rule_for_an_op_is_an_error():
    before = dict(RULES)
    with pytest.raises(DuplicateRegistrationError, match="'Relu'.*activations.relu"):
        vjp_rules.register("Relu")(lambda ctx, node, grads: [None])
    assert RULES == before


@pytest.mark.parametrize("package", [caffe_layers, vjp_rules], ids=["caffe layers", "vjp rules"])
def test_every_module_of_the_package_is_imported(package):
    names = [info.name for info in pkgutil.iter_modules(package.__path__)]
    assert names and all(f"{package.__name__}.{name}" in sys.modules for name in names)


def test_the_reader_does_not_import_the_layer_registry():
    result = _python("""
        import sys
        import converters.caffe.reader, converters.caffe.schema, converters.caffe.legacy_types
        print(sorted(m for m in sys.modules if m.startswith("converters.caffe.layers")))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


NEW_LAYER_MODULE = '''
"""A layer type that exists only in this test, reading one of caffe.proto's parameter
messages (threshold_param): y = 1 where x > threshold, else 0."""
import numpy as np
from onnx import TensorProto

from converters.caffe.layers import register


@register("TestOnlyStep", onnx_ops=("Greater", "Cast"))
def step(graph, layer, bottoms):
    bottom = bottoms[0]
    threshold = graph.constant(f"{layer.name}/threshold",
                               np.float32(layer.param.threshold_param.threshold))
    above = graph.op("Greater", [bottom.name, threshold], bottom.shape, f"{layer.name}/above")
    return [graph.op("Cast", [above.name], bottom.shape, layer.name, to=TensorProto.FLOAT)]
'''
NEW_RULE_MODULE = '''
"""A gradient rule for an op that exists only in this test."""
from converters.vjp.rules import register


@register("TestOnlyOp")
def test_only_op(ctx, node, grads):
    return [grads[0]]
'''
PROBE = """
    import numpy as np, onnxruntime as ort
    from converters import build_vjp, caffe_to_onnx
    from converters.vjp.rules import RULES
    model = caffe_to_onnx("net.prototxt", None)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    print(session.run(None, {"x": np.array([[1.5, -2.0]], np.float32)})[0].tolist())
    print("TestOnlyOp" in RULES)
"""


def test_one_new_file_adds_a_layer_type_and_one_a_gradient_rule(tmp_path):
    """A copy of the packages with one module dropped into converters/caffe/layers/ and one
    into converters/vjp/rules/: the type (with its caffe.proto parameters, no schema edit)
    converts and runs, the rule is registered."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("converters", "common"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=ignore)
    (tmp_path / "converters/caffe/layers/test_only_negate.py").write_text(NEW_LAYER_MODULE)
    (tmp_path / "converters/vjp/rules/test_only_rule.py").write_text(NEW_RULE_MODULE)
    (tmp_path / "net.prototxt").write_text(
        'input: "x" input_shape { dim: 1 dim: 2 }\n'
        'layer { name: "step" type: "TestOnlyStep" bottom: "x" top: "y" '
        'threshold_param { threshold: 0.5 } }\n')
    result = _python(PROBE, path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[[1.0,", "0.0]]", "True"]


def test_the_unsupported_type_message_lists_the_supported_types(tmp_path):
    from converters import caffe_to_onnx
    from converters.caffe.files import CaffeError
    path = tmp_path / "net.prototxt"
    path.write_text('input: "x" input_shape { dim: 1 dim: 2 }\n'
                    'layer { name: "odd" type: "Frobnicate" bottom: "x" top: "y" '
                    'frob_param { level: 3 } }\n')
    with pytest.raises(CaffeError) as error:
        caffe_to_onnx(path, None)
    message = str(error.value)
    assert message.startswith(f"{path}: layer odd: unsupported Caffe layer type 'Frobnicate'")
    assert all(layer_type in message for layer_type in SUPPORTED_TYPES)


def test_a_converter_emitting_an_undeclared_op_is_caught(tmp_path, monkeypatch):
    from converters import caffe_to_onnx
    relu = CONVERTERS["ReLU"]
    monkeypatch.setitem(CONVERTERS, "ReLU", RegisteredConverter(relu.convert, frozenset()))
    path = tmp_path / "net.prototxt"
    path.write_text('input: "x" input_shape { dim: 1 dim: 2 }\n'
                    'layer { name: "relu" type: "ReLU" bottom: "x" top: "y" }\n')
    with pytest.raises(RuntimeError, match=r"ReLU converter emitted \['Relu'\]"):
        caffe_to_onnx(path, None)


def test_every_op_a_caffe_converter_may_emit_has_a_gradient_rule():
    """Derived from the converters' declarations (no hand-kept op list)."""
    emitted = caffe_layers.emitted_onnx_ops()
    assert {"Conv", "ConvTranspose", "Gemm", "MaxPool", "LRN", "Identity"} <= emitted
    assert sorted(emitted - set(RULES)) == []


def test_the_legacy_type_tables_cover_every_v1_enum_and_v0_name():
    """Caffe's V1 enum and V0 names are frozen: every one maps to a V2 type, so a new layer
    type never needs a legacy table entry."""
    enum_names = set(V1LayerParameter.LayerType.keys()) - {"NONE"}
    assert set(V1_ENUM_TO_TYPE) == enum_names
    assert set(V0_NAME_TO_V1_ENUM.values()) <= enum_names
    assert np.unique(list(V1_ENUM_TO_TYPE.values())).size == len(V1_ENUM_TO_TYPE)
