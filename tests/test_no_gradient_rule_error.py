"""Issue 22 item 6: an op without a gradient rule is one line naming the op, the node and the
model, exit 2, nothing written, for `act_max --net_onnx` and `converters vjp` alike."""
from __future__ import annotations

import onnx
import pytest

from support.onnx_classifiers import elementwise_net
from support.own_network import act_max, generator_flags

CANDIDATES = ("Shrink", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Tan",
              "Asin", "Acos", "Sin", "Cos", "Atan", "Erf", "Softsign")


@pytest.fixture
def unusual(tmp_path):
    """A net whose op `unusual` (node `unusual`) has no gradient rule yet."""
    from converters.vjp.rules import RULES
    missing = [op for op in CANDIDATES if op not in RULES]  # element-wise ops (elementwise_net)
    if not missing:
        pytest.skip("every candidate op has a gradient rule now")
    path = tmp_path / "models" / "unusual.onnx"
    path.parent.mkdir()
    onnx.save(elementwise_net(missing[0]), str(path))
    return path, missing[0]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_act_max_names_the_op_the_node_and_the_model(unusual, tmp_path, capsys):
    path, op = unusual
    assert act_max("--net_onnx", str(path), *generator_flags(), "--act_layer", "logits",
                   "--unit", "1", "--no_cache", "--output_dir", str(tmp_path / "out")) == 2
    err = _one_line(capsys)
    assert f"--net_onnx {path}" in err and f"op {op}" in err and "node unusual" in err
    assert not (tmp_path / "out").exists()


def test_converters_vjp_names_the_op_the_node_and_the_model(unusual, tmp_path, capsys):
    from converters import __main__ as converters_main
    path, op = unusual
    output = tmp_path / "out" / "vjp.onnx"
    status = converters_main.main(["vjp", str(path), "-o", str(output), "--wrt", "image",
                                   "--of", "logits"])
    err = _one_line(capsys)
    assert status == 2 and str(path) in err and f"op {op}" in err and "node unusual" in err
    assert not output.exists()
