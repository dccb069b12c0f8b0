"""Write the project's own deploy prototxts from compact architecture tables.

The published architectures (BVLC CaffeNet, BVLC GoogLeNet, Places205 AlexNet in Caffe's
V0 text format, and the DeePSiM "upconv" generators for fc6/fc7/pool5 codes) are described
here as tables and rendered to Caffe text format. Layer names, blob names, shapes and
hyper-parameters follow the published nets, so the released caffemodel files load by layer
name; training-only fields (fillers, lr/decay multipliers) are left out.

Usage: ``python models/nets/write_prototxts.py [--check]`` (``--check`` exits non-zero
when a committed file differs from what the tables give).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

NETS_DIR = Path(__file__).resolve().parent


class Enum(str):
    """A protobuf enum value: written bare (``pool: MAX``), not quoted."""


@dataclass
class Layer:
    """One Caffe layer in V2 terms; ``params`` are the fields of its ``*_param`` message."""

    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    params: list[tuple[str, object]] = field(default_factory=list)


# ---------------------------------------------------------------- layer constructors


def conv(name: str, bottom: str, num_output: int, kernel: int, *, stride: int = 1,
         pad: int = 0, group: int = 1, top: str | None = None, type_: str = "Convolution",
         engine: str | None = None) -> Layer:
    """Convolution (or Deconvolution); default-valued fields are omitted."""
    params: list[tuple[str, object]] = [("num_output", num_output)]
    if pad:
        params.append(("pad", pad))
    params.append(("kernel_size", kernel))
    if stride != 1:
        params.append(("stride", stride))
    if group != 1:
        params.append(("group", group))
    if engine:
        params.append(("engine", Enum(engine)))
    return Layer(name, type_, [bottom], [top or name], params)


def relu(name: str, blob: str, negative_slope: float = 0.0) -> Layer:
    """In-place (leaky) ReLU."""
    params = [("negative_slope", negative_slope)] if negative_slope else []
    return Layer(name, "ReLU", [blob], [blob], params)


def pool(name: str, bottom: str, method: str, kernel: int, stride: int, pad: int = 0) -> Layer:
    """MAX or AVE pooling."""
    params: list[tuple[str, object]] = [("pool", Enum(method)), ("kernel_size", kernel),
                                        ("stride", stride)]
    if pad:
        params.append(("pad", pad))
    return Layer(name, "Pooling", [bottom], [name], params)


def lrn(name: str, bottom: str) -> Layer:
    """Cross-channel LRN with the AlexNet/GoogLeNet constants (n=5, alpha=1e-4, beta=0.75)."""
    return Layer(name, "LRN", [bottom], [name],
                 [("local_size", 5), ("alpha", 0.0001), ("beta", 0.75)])


def inner_product(name: str, bottom: str, num_output: int) -> Layer:
    """Fully connected layer."""
    return Layer(name, "InnerProduct", [bottom], [name], [("num_output", num_output)])


def dropout(name: str, blob: str, ratio: float) -> Layer:
    """In-place dropout (identity at test time)."""
    return Layer(name, "Dropout", [blob], [blob], [("dropout_ratio", ratio)])


def softmax(bottom: str) -> Layer:
    """The ``prob`` output layer."""
    return Layer("prob", "Softmax", [bottom], ["prob"])


# ---------------------------------------------------------------- architectures


def alexnet_layers(num_classes: int, with_dropout: bool) -> list[Layer]:
    """AlexNet as in BVLC CaffeNet / Places205-CNN (pool before norm, grouped conv2/4/5)."""
    layers = [conv("conv1", "data", 96, 11, stride=4), relu("relu1", "conv1"),
              pool("pool1", "conv1", "MAX", 3, 2), lrn("norm1", "pool1"),
              conv("conv2", "norm1", 256, 5, pad=2, group=2), relu("relu2", "conv2"),
              pool("pool2", "conv2", "MAX", 3, 2), lrn("norm2", "pool2"),
              conv("conv3", "norm2", 384, 3, pad=1), relu("relu3", "conv3"),
              conv("conv4", "conv3", 384, 3, pad=1, group=2), relu("relu4", "conv4"),
              conv("conv5", "conv4", 256, 3, pad=1, group=2), relu("relu5", "conv5"),
              pool("pool5", "conv5", "MAX", 3, 2)]
    bottom = "pool5"
    for i in (6, 7):
        layers += [inner_product(f"fc{i}", bottom, 4096), relu(f"relu{i}", f"fc{i}")]
        if with_dropout:
            layers.append(dropout(f"drop{i}", f"fc{i}", 0.5))
        bottom = f"fc{i}"
    return layers + [inner_product("fc8", bottom, num_classes), softmax("fc8")]


def caffenet_layers() -> list[Layer]:
    """The release's caffenet.prototxt: no dropout layers; convolutions pinned to engine CAFFE."""
    layers = alexnet_layers(1000, with_dropout=False)
    for layer in layers:
        if layer.type == "Convolution":
            layer.params.append(("engine", Enum("CAFFE")))
    return layers


# GoogLeNet inception modules: name -> (1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj).
INCEPTION_MODULES: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
# Max pooling (3x3, stride 2) between the stages: inserted after these modules.
GOOGLENET_STAGE_POOLS = {"3b": "pool3/3x3_s2", "4e": "pool4/3x3_s2"}


def conv_relu(name: str, bottom: str, num_output: int, kernel: int, relu_name: str,
              **kw: int) -> list[Layer]:
    """A convolution followed by its in-place ReLU."""
    return [conv(name, bottom, num_output, kernel, **kw), relu(relu_name, name)]


def inception(module: str, bottom: str,
              widths: tuple[int, int, int, int, int, int]) -> list[Layer]:
    """One inception module: four branches concatenated into ``inception_<m>/output``."""
    p = f"inception_{module}/"
    n1, n3r, n3, n5r, n5, npp = widths
    return [*conv_relu(p + "1x1", bottom, n1, 1, p + "relu_1x1"),
            *conv_relu(p + "3x3_reduce", bottom, n3r, 1, p + "relu_3x3_reduce"),
            *conv_relu(p + "3x3", p + "3x3_reduce", n3, 3, p + "relu_3x3", pad=1),
            *conv_relu(p + "5x5_reduce", bottom, n5r, 1, p + "relu_5x5_reduce"),
            *conv_relu(p + "5x5", p + "5x5_reduce", n5, 5, p + "relu_5x5", pad=2),
            pool(p + "pool", bottom, "MAX", 3, 1, pad=1),
            *conv_relu(p + "pool_proj", p + "pool", npp, 1, p + "relu_pool_proj"),
            Layer(p + "output", "Concat",
                  [p + "1x1", p + "3x3", p + "5x5", p + "pool_proj"], [p + "output"])]


def googlenet_layers() -> list[Layer]:
    """BVLC GoogLeNet (deploy): stem, nine inception modules, average pool, classifier."""
    layers = [*conv_relu("conv1/7x7_s2", "data", 64, 7, "conv1/relu_7x7", stride=2, pad=3),
              pool("pool1/3x3_s2", "conv1/7x7_s2", "MAX", 3, 2),
              lrn("pool1/norm1", "pool1/3x3_s2"),
              *conv_relu("conv2/3x3_reduce", "pool1/norm1", 64, 1, "conv2/relu_3x3_reduce"),
              *conv_relu("conv2/3x3", "conv2/3x3_reduce", 192, 3, "conv2/relu_3x3", pad=1),
              lrn("conv2/norm2", "conv2/3x3"),
              pool("pool2/3x3_s2", "conv2/norm2", "MAX", 3, 2)]
    bottom = "pool2/3x3_s2"
    for module, widths in INCEPTION_MODULES.items():
        layers += inception(module, bottom, widths)
        bottom = f"inception_{module}/output"
        if module in GOOGLENET_STAGE_POOLS:
            layers.append(pool(GOOGLENET_STAGE_POOLS[module], bottom, "MAX", 3, 2))
            bottom = GOOGLENET_STAGE_POOLS[module]
    return layers + [pool("pool5/7x7_s1", bottom, "AVE", 7, 1),
                     dropout("pool5/drop_7x7_s1", "pool5/7x7_s1", 0.4),
                     inner_product("loss3/classifier", "pool5/7x7_s1", 1000),
                     softmax("loss3/classifier")]


LEAKY_SLOPE = 0.3  # DeePSiM generators: leaky ReLU after every layer but the last


def generator_layers(code_layer: str) -> list[Layer]:
    """DeePSiM generator for a CaffeNet code (fc6, fc7 or pool5) up to ``deconv0`` (3x256x256).

    fc6/fc7 codes: three InnerProduct layers, Reshape to 256x4x4. pool5 code: three 3x3
    convolutions (the last unpadded: 6x6 -> 4x4). Then the shared Deconvolution stack.
    """
    if code_layer in ("fc6", "fc7"):
        layers: list[Layer] = []
        bottom = "feat"
        for name in ("defc7", "defc6", "defc5"):
            layers += [inner_product(name, bottom, 4096),
                       relu(f"relu_{name}", name, LEAKY_SLOPE)]
            bottom = name
        layers.append(Layer("reshape", "Reshape", ["defc5"], ["reshape_defc5"],
                            [("shape", [("dim", d) for d in (1, 256, 4, 4)])]))
        bottom = "reshape_defc5"
    elif code_layer == "pool5":
        layers = []
        bottom = "feat"
        for i, pad in ((6, 1), (7, 1), (8, 0)):
            layer = conv(f"Rconv{i}", bottom, 512, 3, pad=pad)
            layers += [layer, relu(f"Rrelu{i}", layer.name, LEAKY_SLOPE)]
            bottom = layer.name
    else:
        raise ValueError(f"no generator for code layer {code_layer!r}")
    # (name, num_output, kernel, stride): stride-2 layers upsample x2, 3x3 ones keep size.
    for name, num_output, kernel, stride in (
            ("deconv5", 256, 4, 2), ("conv5_1", 512, 3, 1), ("deconv4", 256, 4, 2),
            ("conv4_1", 256, 3, 1), ("deconv3", 128, 4, 2), ("conv3_1", 128, 3, 1),
            ("deconv2", 64, 4, 2), ("deconv1", 32, 4, 2), ("deconv0", 3, 4, 2)):
        layers.append(conv(name, bottom, num_output, kernel, stride=stride, pad=1,
                           type_="Deconvolution", engine="CUDNN"))
        if name != "deconv0":
            layers.append(relu(f"relu_{name}", name, LEAKY_SLOPE))
        bottom = name
    return layers


# ---------------------------------------------------------------- text rendering

PARAM_FIELD = {"Convolution": "convolution_param", "Deconvolution": "convolution_param",
               "Pooling": "pooling_param", "LRN": "lrn_param", "ReLU": "relu_param",
               "InnerProduct": "inner_product_param", "Dropout": "dropout_param",
               "Reshape": "reshape_param"}
# V0 (``layers { layer { ... } }``) type strings and renamed fields.
V0_TYPE = {"Convolution": "conv", "ReLU": "relu", "Pooling": "pool", "LRN": "lrn",
           "InnerProduct": "innerproduct", "Dropout": "dropout", "Softmax": "softmax"}
V0_FIELD = {"kernel_size": "kernelsize"}


def format_value(value: object) -> str:
    """Text-format scalar: enums bare, strings quoted, numbers as Python writes them."""
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def render(fields: Sequence[tuple[str, object]], indent: int = 0) -> Iterator[str]:
    """Render (key, value) pairs; a list value is a nested message."""
    pad = "  " * indent
    for key, value in fields:
        if isinstance(value, list):
            yield f"{pad}{key} {{"
            yield from render(value, indent + 1)
            yield f"{pad}}}"
        else:
            yield f"{pad}{key}: {format_value(value)}"


def header(input_name: str, input_shape: Sequence[int], net_name: str,
           v0: bool) -> list[tuple[str, object]]:
    """Net name, the single input blob and force_backward (gradients w.r.t. the input)."""
    fields: list[tuple[str, object]] = [("name", net_name)] if net_name else []
    fields.append(("input", input_name))
    if v0:
        fields += [("input_dim", d) for d in input_shape]
    else:
        fields.append(("input_shape", [("dim", d) for d in input_shape]))
    return fields + [("force_backward", Enum("true"))]


def v2_layer(layer: Layer) -> list[tuple[str, object]]:
    """``layer { name type bottom top *_param {...} }``."""
    fields: list[tuple[str, object]] = [("name", layer.name), ("type", layer.type)]
    fields += [("bottom", b) for b in layer.bottoms] + [("top", t) for t in layer.tops]
    if layer.params:
        fields.append((PARAM_FIELD[layer.type], list(layer.params)))
    return fields


def v0_layer(layer: Layer) -> list[tuple[str, object]]:
    """``layers { layer { name type <flat params> } bottom top }`` (Caffe's oldest format)."""
    inner: list[tuple[str, object]] = [("name", layer.name), ("type", V0_TYPE[layer.type])]
    inner += [(V0_FIELD.get(k, k), v) for k, v in layer.params]
    return [("layer", inner), *[("bottom", b) for b in layer.bottoms],
            *[("top", t) for t in layer.tops]]


def net_text(layers: Sequence[Layer], input_name: str, input_shape: Sequence[int],
             net_name: str = "", v0: bool = False) -> str:
    """The whole prototxt for a single-input deploy net."""
    fields = header(input_name, input_shape, net_name, v0)
    fields += [("layers", v0_layer(l)) if v0 else ("layer", v2_layer(l)) for l in layers]
    return "\n".join(render(fields)) + "\n"


def all_prototxts() -> dict[str, str]:
    """Relative path under models/nets/ -> prototxt text, for every project-written net."""
    texts = {
        "caffenet.prototxt": net_text(caffenet_layers(), "data", (1, 3, 227, 227)),
        "googlenet.prototxt": net_text(googlenet_layers(), "data", (1, 3, 224, 224), "GoogleNet"),
        "places205_alexnet_v0.prototxt": net_text(
            alexnet_layers(205, with_dropout=True), "data", (1, 3, 227, 227), "Places205-CNN",
            v0=True),
    }
    code_shapes = {"fc6": (1, 4096), "fc7": (1, 4096), "pool5": (1, 256, 6, 6)}
    for code_layer, shape in code_shapes.items():
        texts[f"upconv/{code_layer}/generator.prototxt"] = net_text(
            generator_layers(code_layer), "feat", shape)
    return texts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare the committed files with the tables")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in all_prototxts().items():
        path = NETS_DIR / rel
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".prototxt.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        print(path)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python models/nets/write_prototxts.py)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
