"""The demo pair's architectures as Caffe layer tables (one source for training and export).

Classifier: a small CaffeNet (conv -> ReLU -> max-pool -> LRN twice, two more convs, pool5,
fc6 -> relu6 -> drop6, fc7 -> relu7 -> drop7, fc8, prob) on 56x56 BGR mean-subtracted input.
Generator: the DeePSiM fc6 generator shrunk (InnerProduct x3 with leaky ReLU 0.3, Reshape to
128x4x4, Deconvolution 4/2/1 upsampling and 3/1/1 refining layers, leaky ReLU 0.3 after all
but `deconv0`), code `feat` (1 x FC6_SIZE) -> image `deconv0` (1x3x64x64). The driver crops
the centre 56x56 at (64 - 56) // 2 = 4, as the release crops 227 out of 256 at 14.
"""
from __future__ import annotations

from models.nets.write_prototxts import (
    LEAKY_SLOPE, Layer, conv, dropout, inner_product, lrn, net_text, pool, relu, softmax)

CLASSIFIER_INPUT = 56
GENERATOR_OUTPUT = 64
FC6_SIZE = 256
GENERATOR_BASE = (128, 4, 4)
# Caffe input space of both nets: BGR pixels minus this mean (one value for all channels).
PIXEL_MEAN = 128.0


def classifier_layers(num_classes: int) -> list[Layer]:
    """CaffeNet-style classifier: 56 -> conv1 28 -> pool1 14 -> pool2 7 -> pool5 3."""
    layers = [conv("conv1", "data", 32, 5, stride=2, pad=2), relu("relu1", "conv1"),
              pool("pool1", "conv1", "MAX", 3, 2), lrn("norm1", "pool1"),
              conv("conv2", "norm1", 64, 3, pad=1), relu("relu2", "conv2"),
              pool("pool2", "conv2", "MAX", 3, 2), lrn("norm2", "pool2"),
              conv("conv3", "norm2", 96, 3, pad=1), relu("relu3", "conv3"),
              conv("conv5", "conv3", 64, 3, pad=1), relu("relu5", "conv5"),
              pool("pool5", "conv5", "MAX", 3, 2)]
    bottom = "pool5"
    for i in (6, 7):
        layers += [inner_product(f"fc{i}", bottom, FC6_SIZE), relu(f"relu{i}", f"fc{i}"),
                   dropout(f"drop{i}", f"fc{i}", 0.5)]
        bottom = f"fc{i}"
    return layers + [inner_product("fc8", bottom, num_classes), softmax("fc8")]


def generator_layers() -> list[Layer]:
    """Small DeePSiM-style fc6 generator: feat -> defc7/defc6/defc5 -> 128x4x4 -> 64x64."""
    layers: list[Layer] = []
    bottom = "feat"
    for name, width in (("defc7", 512), ("defc6", 512),
                        ("defc5", GENERATOR_BASE[0] * GENERATOR_BASE[1] * GENERATOR_BASE[2])):
        layers += [inner_product(name, bottom, width), relu(f"relu_{name}", name, LEAKY_SLOPE)]
        bottom = name
    layers.append(Layer("reshape", "Reshape", ["defc5"], ["reshape_defc5"],
                        [("shape", [("dim", d) for d in (0, *GENERATOR_BASE)])]))
    bottom = "reshape_defc5"
    for name, num_output, kernel, stride in (
            ("deconv5", 128, 4, 2), ("conv5_1", 128, 3, 1), ("deconv4", 64, 4, 2),
            ("conv4_1", 64, 3, 1), ("deconv3", 32, 4, 2), ("conv3_1", 32, 3, 1),
            ("deconv0", 3, 4, 2)):
        layers.append(conv(name, bottom, num_output, kernel, stride=stride, pad=1,
                           type_="Deconvolution"))
        if name != "deconv0":
            layers.append(relu(f"relu_{name}", name, LEAKY_SLOPE))
        bottom = name
    return layers


def classifier_prototxt(num_classes: int) -> str:
    """Deploy prototxt text of the classifier (input `data`, 1x3x56x56)."""
    return net_text(classifier_layers(num_classes), "data",
                    (1, 3, CLASSIFIER_INPUT, CLASSIFIER_INPUT), "DemoCaffeNet")


def generator_prototxt() -> str:
    """Deploy prototxt text of the generator (input `feat`, 1 x FC6_SIZE)."""
    return net_text(generator_layers(), "feat", (1, FC6_SIZE), "DemoGenerator")
