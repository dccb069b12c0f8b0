"""Whole nets: the VJP graph of a converted Caffe net against a NumPy float64 reference
backward written here, layer by layer as Caffe computes it.

Architectures come from the project's prototxts (models/nets/caffenet.prototxt,
models/nets/upconv/fc6/generator.prototxt) with every layer type, kernel, stride, pad and
group kept; for test time the spatial input and channel counts are smaller and the
weights are synthetic (written as a real .caffemodel, converted by caffe_to_onnx).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from google.protobuf import text_format

from converters import build_vjp, caffe_to_onnx
from converters.caffe import schema
from converters.caffe.writer import write_caffemodel, write_prototxt
from support.numpy_conv import col2im, conv2d, conv_transpose2d
from support.paths import REPO_ROOT
from support.vjp_check import (caffe_max_pool_backward, check_vjp, lrn, lrn_scale, report_measured,
                               runner)

CAFFENET = REPO_ROOT / "models/nets/caffenet.prototxt"
GENERATOR = REPO_ROOT / "models/nets/upconv/fc6/generator.prototxt"


# ---- a NumPy Caffe for chains of layers -------------------------------------------
def _first(values, default):
    """Caffe's convolution fields are repeated, its pooling fields scalar."""
    if isinstance(values, int):
        return values or default
    return int(values[0]) if len(values) else default


def _geometry(param):
    k = _first(param.kernel_size, 1)
    return dict(kernel=(k, k), stride=_first(param.stride, 1), pad=_first(param.pad, 0),
                dilation=_first(getattr(param, "dilation", []), 1),
                group=getattr(param, "group", 1) or 1)


def caffe_pool_size(size, k, s, p):
    """Caffe: ceil((H + 2p - k) / s) + 1, minus one if the last window starts past H + p."""
    out = -(-(size + 2 * p - k) // s) + 1
    return out - 1 if p > 0 and (out - 1) * s >= size + p else out


def _max_pool(x, k, s, p):
    out = [caffe_pool_size(x.shape[2 + a], k, s, p) for a in range(2)]
    y = np.full(x.shape[:2] + tuple(out), -np.inf)
    for oh in range(out[0]):
        for ow in range(out[1]):
            h0, w0 = oh * s - p, ow * s - p
            window = x[:, :, max(h0, 0):min(h0 + k, x.shape[2]), max(w0, 0):min(w0 + k, x.shape[3])]
            y[:, :, oh, ow] = window.max(axis=(2, 3))
    return y


class Layer:
    """One Caffe layer's forward and backward (gradient w.r.t. its bottom only)."""

    def __init__(self, param, blobs):
        self.param, self.blobs = param, blobs

    def forward(self, x):
        p, kind = self.param, self.param.type
        self.x = x
        if kind in ("Convolution", "Deconvolution"):
            g = _geometry(p.convolution_param)
            op = conv2d if kind == "Convolution" else conv_transpose2d
            return op(x, self.blobs[0], self.blobs[1], (g["stride"],) * 2, (g["pad"],) * 4,
                      (g["dilation"],) * 2, g["group"])
        if kind == "ReLU":
            return np.where(x > 0, x, x * p.relu_param.negative_slope)
        if kind == "Pooling":
            g = _geometry(p.pooling_param)
            return _max_pool(x, g["kernel"][0], g["stride"], g["pad"])
        if kind == "LRN":
            q = p.lrn_param
            return lrn(x, q.local_size, q.alpha, q.beta, q.k)
        if kind == "InnerProduct":
            return x.reshape(x.shape[0], -1) @ self.blobs[0].T + self.blobs[1]
        if kind == "Reshape":
            dims = [x.shape[i] if d == 0 else d for i, d in enumerate(p.reshape_param.shape.dim)]
            return x.reshape(dims)
        raise NotImplementedError(kind)

    def backward(self, g):
        p, kind, x = self.param, self.param.type, self.x
        if kind == "Convolution":
            geo = _geometry(p.convolution_param)
            w, group = self.blobs[0], geo["group"]
            mg, cg = w.shape[0] // group, x.shape[1] // group
            cols = np.concatenate([np.einsum("mcij,nmhw->ncijhw", w[i * mg:(i + 1) * mg],
                                             g[:, i * mg:(i + 1) * mg]) for i in range(group)], 1)
            assert cols.shape[1] == cg * group
            return col2im(cols, x.shape[2:], (geo["stride"],) * 2, (geo["pad"],) * 4,
                          (geo["dilation"],) * 2)
        if kind == "Deconvolution":  # Caffe: backward of a deconvolution is a convolution
            geo = _geometry(p.convolution_param)
            return conv2d(g, self.blobs[0], None, (geo["stride"],) * 2, (geo["pad"],) * 4,
                          (geo["dilation"],) * 2, geo["group"])
        if kind == "ReLU":
            return np.where(x > 0, g, g * p.relu_param.negative_slope)
        if kind == "Pooling":
            geo = _geometry(p.pooling_param)
            k, s, pad = geo["kernel"][0], geo["stride"], geo["pad"]
            return caffe_max_pool_backward(x, g, [k, k], [s, s], [pad, pad])
        if kind == "LRN":  # Caffe CrossChannelBackward
            q = p.lrn_param
            scale = lrn_scale(x, q.local_size, q.alpha, q.k)
            ratio = np.pad(g * lrn(x, q.local_size, q.alpha, q.beta, q.k) / scale,
                           ((0, 0), (q.local_size // 2, (q.local_size - 1) // 2), (0, 0), (0, 0)))
            window = sum(ratio[:, i:i + x.shape[1]] for i in range(q.local_size))
            return g * scale ** -q.beta - 2 * q.alpha * q.beta / q.local_size * x * window
        if kind == "InnerProduct":
            return (g @ self.blobs[0]).reshape(x.shape)
        if kind == "Reshape":
            return g.reshape(x.shape)
        raise NotImplementedError(kind)


def reference_vjp(net, blobs, x, cotangent, end, forward_only=False):
    """Forward the chain up to `end` in float64, then backward from `cotangent`."""
    layers = []
    for param in net.layer:
        layers.append(Layer(param, blobs.get(param.name)))
        x = layers[-1].forward(x)
        if param.name == end:
            break
    if forward_only:
        return x
    g = cotangent
    for layer in reversed(layers):
        g = layer.backward(g)
    return x, g


# ---- building small versions of the nets ----------------------------------------------
def shrunk_net(prototxt: Path, input_dims, channel_divisor, overrides, reshape_channels=None):
    """The prototxt with a smaller input, num_output divided by `channel_divisor` (or set
    per layer by `overrides`), and the Reshape's channel count replaced."""
    net = text_format.Parse(prototxt.read_text(), schema.NetParameter())
    del net.input_shape[0].dim[:]
    net.input_shape[0].dim.extend(input_dims)
    for layer in net.layer:
        for param in (layer.convolution_param, layer.inner_product_param):
            if param.num_output:
                param.num_output = overrides.get(layer.name, param.num_output // channel_divisor)
        if layer.type == "Reshape" and reshape_channels:
            layer.reshape_param.shape.dim[1] = reshape_channels
    return net


def synthetic_blobs(net, seed, end):
    """He-scaled random weights for every Convolution/Deconvolution/InnerProduct layer."""
    rng = np.random.default_rng(seed)
    blobs, x = {}, np.zeros(tuple(net.input_shape[0].dim))
    for layer in net.layer:
        if layer.type == "InnerProduct":
            w_shape = (layer.inner_product_param.num_output, int(np.prod(x.shape[1:])))
        elif layer.type in ("Convolution", "Deconvolution"):
            geo, m = _geometry(layer.convolution_param), layer.convolution_param.num_output
            w_shape = ((m, x.shape[1] // geo["group"]) if layer.type == "Convolution"
                       else (x.shape[1], m // geo["group"])) + geo["kernel"]
        if layer.type in ("Convolution", "Deconvolution", "InnerProduct"):
            n_out = layer.convolution_param.num_output or layer.inner_product_param.num_output
            blobs[layer.name] = [rng.normal(0, np.sqrt(2.0 / np.prod(w_shape[1:])), w_shape),
                                 rng.normal(0, 0.1, n_out)]
        x = Layer(layer, blobs.get(layer.name)).forward(x)
        if layer.name == end:
            return blobs
    raise AssertionError(f"no layer {end}")


def convert(tmp_path, net, blobs, end, batch=1) -> onnx.ModelProto:
    write_prototxt(tmp_path / "net.prototxt", net)
    write_caffemodel(tmp_path / "net.caffemodel",
                     {k: [v.astype(np.float32) for v in vs] for k, vs in blobs.items()})
    return caffe_to_onnx(tmp_path / "net.prototxt", tmp_path / "net.caffemodel", end=end,
                         batch=batch)


def _relative(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


MEASURED_NETS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def print_measured_errors():
    yield
    print("\nlargest VJP error vs NumPy reference (relative to max |reference|):")
    for name, error in MEASURED_NETS.items():
        print(f"{name:40s} {error:.2e}")
    for line in report_measured().splitlines():
        if line.startswith("converted"):
            print(f"finite differences: {line}")


def _compare_with_reference(title, tmp, net, blobs, given, cotangent, tol=1e-4):
    """VJP graph in float32 on ONNX Runtime vs the float64 NumPy reference: the forward
    value of the `of` blob and the gradient w.r.t. the input blob."""
    (input_blob, x), (output_blob, v) = given, cotangent
    model = build_vjp(convert(tmp, net, blobs, end=output_blob), [input_blob], [output_blob])
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} == {""}
    value, grad = runner(model, double=False)({input_blob: x.astype(np.float32),
                                               f"{output_blob}_grad": v.astype(np.float32)})
    ref_value, ref_grad = reference_vjp(net, blobs, x, v, end=output_blob)
    assert _relative(value, ref_value) < tol
    MEASURED_NETS[title] = _relative(grad, ref_grad)
    assert MEASURED_NETS[title] < tol


def _assert_rows_are_independent(model, input_blob, x, output_blob, cotangent):
    """A batch of rows (dynamic batch) gives each row the gradient it gets alone."""
    run = runner(model, double=False)
    _, together = run({input_blob: x, f"{output_blob}_grad": cotangent})
    for row in range(len(x)):
        _, alone = run({input_blob: x[row:row + 1],
                        f"{output_blob}_grad": cotangent[row:row + 1]})
        np.testing.assert_allclose(together[row:row + 1], alone, rtol=1e-5, atol=1e-6)


# ---- the tests ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def caffenet(tmp_path_factory):
    if not CAFFENET.is_file():
        pytest.skip(f"{CAFFENET} is absent (check out ../shared beside the repository)")
    net = shrunk_net(CAFFENET, [1, 3, 103, 103], 8, {"fc6": 64, "fc7": 64, "fc8": 100})
    blobs = synthetic_blobs(net, seed=1, end="fc8")
    return net, blobs, tmp_path_factory.mktemp("caffenet")


def test_caffenet_d_fc8_unit_d_data_matches_numpy_reference(caffenet):
    """CaffeNet architecture (ceil-mode pooling borders at 103x103, LRN, grouped conv):
    d fc8[unit] / d data, one-hot cotangent, as the DGN-AM step computes it."""
    net, blobs, tmp = caffenet
    x = np.random.default_rng(2).uniform(-100, 100, (1, 3, 103, 103))
    onehot = np.zeros((1, 100))
    onehot[0, 37] = 1.0
    _compare_with_reference("CaffeNet d fc8[37] / d data", tmp, net, blobs, ("data", x),
                            ("fc8", onehot))


def test_caffenet_dynamic_batch_gives_each_row_its_own_gradient(caffenet):
    """With batch 'dynamic' several units are differentiated at once, one per row."""
    net, blobs, tmp = caffenet
    model = build_vjp(convert(tmp, net, blobs, end="fc8", batch="dynamic"), ["data"], ["fc8"])
    x = np.random.default_rng(3).uniform(-100, 100, (2, 3, 103, 103)).astype(np.float32)
    onehot = np.zeros((2, 100), dtype=np.float32)
    onehot[0, 5], onehot[1, 71] = 1.0, 1.0
    _assert_rows_are_independent(model, "data", x, "fc8", onehot)


def test_fc6_generator_vjp_d_feat_matches_numpy_reference(tmp_path):
    """fc6 generator architecture (InnerProduct + leaky ReLU 0.3, Reshape, Deconvolution
    k4 s2 p1 / k3 s1 p1): d (deconv0 . v) / d feat for a random image change v."""
    if not GENERATOR.is_file():
        pytest.skip(f"{GENERATOR} is absent (check out ../shared beside the repository)")
    net = shrunk_net(GENERATOR, [1, 64], 8, {"defc7": 64, "defc6": 64, "defc5": 16 * 4 * 4,
                                            "deconv0": 3}, reshape_channels=16)
    blobs = synthetic_blobs(net, seed=4, end="deconv0")
    rng = np.random.default_rng(5)
    _compare_with_reference("fc6 generator d (deconv0 . v) / d feat", tmp_path, net, blobs,
                            ("feat", rng.normal(0, 1, (1, 64))),
                            ("deconv0", rng.normal(0, 1, (1, 3, 256, 256))))


@pytest.mark.skipif(not os.environ.get("VJP_FULL_SIZE"),
                    reason="full-size nets write ~450 MB of synthetic weights and take about "
                           "30 s; set VJP_FULL_SIZE=1 to run")
@pytest.mark.parametrize("prototxt,given,output", [
    (CAFFENET, ("data", (1, 3, 227, 227)), ("fc8", "onehot")),
    (GENERATOR, ("feat", (1, 4096)), ("deconv0", "image"))], ids=["CaffeNet", "fc6 generator"])
def test_full_size_nets_match_numpy_reference(tmp_path, prototxt, given, output):
    """The published sizes: 227x227 CaffeNet, 4096-d code to 256x256 generator output."""
    net = text_format.Parse(prototxt.read_text(), schema.NetParameter())
    blobs = synthetic_blobs(net, seed=6, end=output[0])
    rng = np.random.default_rng(7)
    x = rng.uniform(-100, 100, given[1]) if output[1] == "onehot" else rng.normal(0, 1, given[1])
    out_shape = reference_vjp(net, blobs, x, None, end=output[0], forward_only=True).shape
    cotangent = rng.normal(0, 1, out_shape)
    if output[1] == "onehot":
        cotangent = np.eye(out_shape[1])[[643]]
    _compare_with_reference(f"full-size {prototxt.stem} VJP", tmp_path, net, blobs,
                            (given[0], x), (output[0], cotangent))


# ---- a GoogLeNet-style block through the converter, against finite differences -------
INCEPTION_PROTOTXT = """
input: "data"
input_shape { dim: 1 dim: 3 dim: 10 dim: 10 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 6 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
        lrn_param { local_size: 5 alpha: 0.5 beta: 0.75 } }
layer { name: "b1" type: "Convolution" bottom: "norm1" top: "b1"
        convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "relu_b1" type: "ReLU" bottom: "b1" top: "b1" }
layer { name: "b2_reduce" type: "Convolution" bottom: "norm1" top: "b2_reduce"
        convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "relu_b2_reduce" type: "ReLU" bottom: "b2_reduce" top: "b2_reduce" }
layer { name: "b2" type: "Convolution" bottom: "b2_reduce" top: "b2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "b3_pool" type: "Pooling" bottom: "norm1" top: "b3_pool"
        pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "b3" type: "Convolution" bottom: "b3_pool" top: "b3"
        convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "concat" type: "Concat" bottom: "b1" bottom: "b2" bottom: "b3" top: "concat" }
layer { name: "pool2" type: "Pooling" bottom: "concat" top: "pool2"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool2" top: "fc"
        inner_product_param { num_output: 5 } }
"""
INCEPTION_WEIGHTS = {"conv1": (6, 3, 3, 3), "b1": (4, 6, 1, 1), "b2_reduce": (3, 6, 1, 1),
                     "b2": (4, 3, 3, 3), "b3": (2, 6, 1, 1), "fc": (5, 10 * 3 * 3)}


def _as_type(model: onnx.ModelProto, elem_type: int) -> onnx.ModelProto:
    """The float32 converted model with every float tensor in `elem_type`."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_type)
    for index, init in enumerate(copy.graph.initializer):
        if init.data_type == onnx.TensorProto.FLOAT:
            copy.graph.initializer[index].CopyFrom(onnx.numpy_helper.from_array(
                onnx.numpy_helper.to_array(init).astype(dtype), init.name))
    for value in [*copy.graph.input, *copy.graph.output, *copy.graph.value_info]:
        if value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT:
            value.type.tensor_type.elem_type = elem_type
    return copy


@pytest.fixture
def inception_block(tmp_path):
    """Converter for the block's prototxt with seeded synthetic weights: batch -> model."""
    (tmp_path / "block.prototxt").write_text(INCEPTION_PROTOTXT)
    rng = np.random.default_rng(8)
    blobs = {name: [rng.normal(0, 0.5, shape).astype(np.float32),
                    rng.normal(0, 0.1, shape[0]).astype(np.float32)]
             for name, shape in INCEPTION_WEIGHTS.items()}
    write_caffemodel(tmp_path / "block.caffemodel", blobs)
    return lambda batch: caffe_to_onnx(tmp_path / "block.prototxt",
                                       tmp_path / "block.caffemodel", outputs=["fc"],
                                       batch=batch)


def test_inception_block_through_the_converter_matches_finite_differences(inception_block):
    """Fan-out into three branches (gradients summed), Concat, ceil-mode MAX pooling, a
    padded stride-1 MAX pool, LRN and AVE pooling with Caffe's border divisor (the
    converter's correction Mul): float64 VJP of the converted graph vs central differences."""
    forward = inception_block(1)
    assert {"Concat", "AveragePool", "LRN", "MaxPool"} <= {n.op_type for n in forward.graph.node}
    x = np.random.default_rng(9).uniform(-1, 1, (1, 3, 10, 10))
    check_vjp("converted inception block", lambda t: _as_type(forward, t), {"data": x},
              ["data"], ["fc"], max_cells=64)


def test_inception_block_with_dynamic_batch_differentiates_each_row(inception_block):
    model = build_vjp(inception_block("dynamic"), ["data"], ["fc"])
    rng = np.random.default_rng(10)
    x = rng.uniform(-1, 1, (3, 3, 10, 10)).astype(np.float32)
    v = rng.normal(0, 1, (3, 5)).astype(np.float32)
    _assert_rows_are_independent(model, "data", x, "fc", v)
