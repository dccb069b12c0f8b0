"""The project-written prototxts under models/nets/ describe the published architectures.

Each is compared, layer by layer, with the release's own file in ../shared/originals/nets
(read-only reference): same layer names and types, same bottoms/tops in the same order,
same hyper-parameters. Training-only fields (fillers, lr/decay multipliers) and fields
spelled out at their Caffe default (pad 0, stride 1, group 1) are not compared.
"""
from __future__ import annotations

import re

import pytest

from models.nets import write_prototxts
from support.paths import REPO_ROOT, SHARED

NETS = REPO_ROOT / "models" / "nets"
ORIGINALS = SHARED / "originals" / "nets"
PAIRS = {
    "caffenet.prototxt": "caffenet/caffenet.prototxt",
    "googlenet.prototxt": "googlenet/bvlc_googlenet_updated.prototxt",
    "places205_alexnet_v0.prototxt": "placesCNN/places205CNN_deploy_updated.prototxt",
    "upconv/fc6/generator.prototxt": "upconv/fc6/generator.prototxt",
    "upconv/fc7/generator.prototxt": "upconv/fc7/generator.prototxt",
    "upconv/pool5/generator.prototxt": "upconv/pool5/generator.prototxt",
}
TRAINING_ONLY = {"param", "weight_filler", "bias_filler", "blobs_lr", "weight_decay"}
CAFFE_DEFAULTS = {"pad": 0.0, "stride": 1.0, "group": 1.0}
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"#]+|#[^\n]*')


def parse_text_format(text: str) -> list[tuple[str, object]]:
    """Minimal protobuf text-format reader: (key, scalar or nested list) pairs."""
    tokens = [t for t in TOKEN.findall(text) if not t.startswith("#")]
    pos = 0

    def message(closing: bool) -> list[tuple[str, object]]:
        nonlocal pos
        fields: list[tuple[str, object]] = []
        while pos < len(tokens):
            key = tokens[pos]
            if key == "}":
                assert closing, "unbalanced '}'"
                pos += 1
                return fields
            if tokens[pos + 1] == ":" and tokens[pos + 2] != "{":
                fields.append((key, tokens[pos + 2]))
                pos += 3
            else:
                pos += 3 if tokens[pos + 1] == ":" else 2
                fields.append((key, message(closing=True)))
        assert not closing, "missing '}'"
        return fields

    return message(closing=False)


def normalized(fields: list[tuple[str, object]]) -> dict[str, list[object]]:
    """key -> values in order; numbers as floats; training-only and default fields dropped."""
    out: dict[str, list[object]] = {}
    for key, value in fields:
        if key in TRAINING_ONLY:
            continue
        if isinstance(value, list):
            value = normalized(value)
        elif value.startswith('"'):
            value = value[1:-1]
        else:
            try:
                value = float(value)
            except ValueError:
                pass  # enum or bool
        if CAFFE_DEFAULTS.get(key) == value:
            continue
        out.setdefault(key, []).append(value)
    return out


def test_committed_files_are_what_the_tables_give():
    assert write_prototxts.main(["--check"]) == 0


@pytest.mark.parametrize("ours", sorted(PAIRS))
def test_architecture_matches_the_release(ours):
    original = ORIGINALS / PAIRS[ours]
    if not original.is_file():
        pytest.skip(f"reference file absent: {original} (check out ../shared)")
    mine = normalized(parse_text_format((NETS / ours).read_text()))
    theirs = normalized(parse_text_format(original.read_text()))
    layer_key = "layers" if "layers" in theirs else "layer"
    mine_layers, their_layers = mine.pop(layer_key), theirs.pop(layer_key)
    assert [l.get("name", l.get("layer", [{}])[0].get("name")) for l in mine_layers] == \
        [l.get("name", l.get("layer", [{}])[0].get("name")) for l in their_layers]
    for a, b in zip(mine_layers, their_layers):
        assert a == b
    assert mine == theirs  # input, input shape, force_backward, net name


@pytest.mark.parametrize("ours", sorted(PAIRS))
def test_parses_with_the_project_schema(ours):
    schema = pytest.importorskip("converters.caffe.schema",
                                 reason="converters.caffe.schema not on this branch yet")
    from google.protobuf import text_format
    net = text_format.Parse((NETS / ours).read_text(), schema.NetParameter())
    assert len(net.layer) + len(net.layers) > 0
