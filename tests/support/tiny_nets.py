"""A plain-NumPy DGN-AM loop and the tiny Caffe nets the driver tests run it against.

The tiny generator mirrors the fc6 generator's structure (InnerProduct + leaky ReLU 0.3,
Reshape, Deconvolution k4 s2 p1 + leaky ReLU, last Deconvolution without ReLU); the tiny
classifier is CaffeNet-like (Convolution + in-place ReLU, InnerProduct + in-place ReLU,
InnerProduct). Both are written as real prototxt + caffemodel files. The loop follows
../shared/spec/dgn-am.md line by line, with the float32/float64 boundaries written out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from support.float32_error import (linear_error, mask_error, norm_error, normalised_step_error,
                                   overlap, rounded, tolerance)
from support.numpy_conv import col2im_matrix, im2col_matrix

CODE_SIZE = 16
GEN_SIDE = 12  # generator output 3×12×12
NET_SIDE = 9  # classifier input 3×9×9: crop offset (12 − 9) // 2 = 1
CLASSES = 5
CONV_CHANNELS = 4  # conv1 output 4×4×4

GENERATOR_PROTOTXT = """input: "feat"
input_shape { dim: 1 dim: 16 }
force_backward: true
layer { name: "defc7" type: "InnerProduct" bottom: "feat" top: "defc7"
  inner_product_param { num_output: 72 } }
layer { name: "relu_defc7" type: "ReLU" bottom: "defc7" top: "defc7" relu_param { negative_slope: 0.3 } }
layer { name: "reshape" type: "Reshape" bottom: "defc7" top: "reshape"
  reshape_param { shape { dim: 1 dim: 8 dim: 3 dim: 3 } } }
layer { name: "deconv1" type: "Deconvolution" bottom: "reshape" top: "deconv1"
  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "relu_deconv1" type: "ReLU" bottom: "deconv1" top: "deconv1" relu_param { negative_slope: 0.3 } }
layer { name: "deconv0" type: "Deconvolution" bottom: "deconv1" top: "deconv0"
  convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
"""

CLASSIFIER_PROTOTXT = """input: "data"
input_shape { dim: 1 dim: 3 dim: 9 dim: 9 }
force_backward: true
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 4 kernel_size: 3 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "fc6" type: "InnerProduct" bottom: "conv1" top: "fc6" inner_product_param { num_output: 10 } }
layer { name: "relu6" type: "ReLU" bottom: "fc6" top: "fc6" }
layer { name: "fc8" type: "InnerProduct" bottom: "fc6" top: "fc8" inner_product_param { num_output: 5 } }
"""


def leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.maximum(x, 0) + np.float32(slope) * np.minimum(x, 0)


def leaky_grad(dy: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    return dy * np.where(x > 0, np.float32(1), np.float32(slope))


@dataclass
class TinyGenerator:
    """NumPy forward/backward of GENERATOR_PROTOTXT for one sample."""

    weights: dict[str, list[np.ndarray]]

    def forward(self, code: np.ndarray) -> tuple[np.ndarray, dict]:
        w, b = self.weights["defc7"]
        fc_pre = code @ w.T + b
        fc = leaky(fc_pre, 0.3)
        hidden = fc.reshape(8, 3, 3)
        w1, b1 = self.weights["deconv1"]
        pre1 = col2im_matrix(w1.reshape(8, -1).T @ hidden.reshape(8, -1), (4, 6, 6), 4, 2, 1)
        pre1 = pre1 + b1[:, None, None]
        act1 = leaky(pre1, 0.3)
        w0, b0 = self.weights["deconv0"]
        out = col2im_matrix(w0.reshape(4, -1).T @ act1.reshape(4, -1), (3, 12, 12), 4, 2, 1)
        out = out + b0[:, None, None]
        return out[None].astype(np.float32), {"fc_pre": fc_pre, "fc": fc, "pre1": pre1, "act1": act1}

    def backward(self, cache: dict, d_out: np.ndarray, tape: dict | None = None) -> np.ndarray:
        """The code's gradient; `tape`, when given, receives the intermediate gradients."""
        w0 = self.weights["deconv0"][0]
        d_act1 = (w0.reshape(4, -1) @ im2col_matrix(d_out[0], 4, 2, 1)).reshape(4, 6, 6)
        d_pre1 = leaky_grad(d_act1, cache["act1"], 0.3)
        w1 = self.weights["deconv1"][0]
        d_hidden = (w1.reshape(8, -1) @ im2col_matrix(d_pre1, 4, 2, 1)).reshape(1, 72)
        d_fc = leaky_grad(d_hidden, cache["fc"], 0.3)
        if tape is not None:
            tape.update(d_act1=d_act1, d_pre1=d_pre1, d_hidden=d_hidden, d_fc=d_fc)
        return (d_fc @ self.weights["defc7"][0]).astype(np.float32)

    def forward_error(self, code: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
        """Float32 error scales σ of forward's blobs for an exact code (tests/TOLERANCES.md)."""
        (w, b), (w1, b1), (w0, b0) = (_f64_weights(self, n) for n in ("defc7", "deconv1", "deconv0"))
        fold1 = lambda cols: col2im_matrix(cols, (4, 6, 6), 4, 2, 1)  # noqa: E731
        fold0 = lambda cols: col2im_matrix(cols, (3, 12, 12), 4, 2, 1)  # noqa: E731
        errors = {"fc_pre": linear_error(lambda a, f: a @ f(w.T), code, np.zeros(code.shape),
                                         CODE_SIZE + 1, b)}
        errors["fc"] = rounded(cache["fc"], errors["fc_pre"])  # leaky ReLU: one product
        errors["pre1"] = linear_error(lambda a, f: fold1(f(w1.reshape(8, -1).T) @ a.reshape(8, -1)),
                                      cache["fc"], errors["fc"], 8 * overlap((64, 9), fold1) + 1,
                                      b1[:, None, None])
        errors["act1"] = rounded(cache["act1"], errors["pre1"])
        errors["out"] = linear_error(lambda a, f: fold0(f(w0.reshape(4, -1).T) @ a.reshape(4, -1)),
                                     cache["act1"], errors["act1"], 4 * overlap((48, 36), fold0) + 1,
                                     b0[:, None, None])[None]
        return errors

    def backward_error(self, cache: dict, errors: dict, tape: dict, d_out: np.ndarray,
                       d_out_error: np.ndarray) -> np.ndarray:
        """Float32 error scale σ of backward's result, from forward_error's and the tape."""
        (w, _), (w1, _), (w0, _) = (_f64_weights(self, n) for n in ("defc7", "deconv1", "deconv0"))
        w0, w1 = w0.reshape(4, -1), w1.reshape(8, -1)
        e_act1 = linear_error(lambda a, f: (f(w0) @ im2col_matrix(a[0], 4, 2, 1)).reshape(4, 6, 6), d_out,
                              d_out_error, w0.shape[1])
        e_pre1 = mask_error(cache["pre1"], errors["pre1"], tape["d_act1"], e_act1,
                            np.where(cache["act1"] > 0, 1.0, 0.3), 0.7, tape["d_pre1"])
        e_hidden = linear_error(lambda a, f: (f(w1) @ im2col_matrix(a, 4, 2, 1)).reshape(1, 72),
                                tape["d_pre1"], e_pre1, w1.shape[1])
        e_fc = mask_error(cache["fc_pre"], errors["fc_pre"], tape["d_hidden"], e_hidden,
                          np.where(cache["fc"] > 0, 1.0, 0.3), 0.7, tape["d_fc"])
        return linear_error(lambda a, f: a @ f(w), tape["d_fc"], e_fc, 72)


def _f64_weights(net, layer: str) -> list[np.ndarray]:
    return [blob.astype(np.float64) for blob in net.weights[layer]]


@dataclass
class TinyClassifier:
    """NumPy forward (to a layer, as Caffe forward(end=L)) and backward of CLASSIFIER_PROTOTXT."""

    weights: dict[str, list[np.ndarray]]

    def forward(self, image: np.ndarray, end: str) -> tuple[np.ndarray, dict]:
        w1, b1 = self.weights["conv1"]
        conv = (w1.reshape(4, -1) @ im2col_matrix(image[0], 3, 2, 0)).reshape(4, 4, 4) + b1[:, None, None]
        if end == "conv1":
            return conv[None], {"conv": conv}
        relu1 = np.maximum(conv, 0)
        w6, b6 = self.weights["fc6"]
        fc6 = relu1.reshape(1, -1) @ w6.T + b6
        relu6 = np.maximum(fc6, 0)
        w8, b8 = self.weights["fc8"]
        return relu6 @ w8.T + b8, {"conv": conv, "relu1": relu1, "fc6": fc6, "relu6": relu6}

    def backward(self, cache: dict, end: str, d_end: np.ndarray, tape: dict | None = None) -> np.ndarray:
        """The image's gradient; `tape`, when given, receives the intermediate gradients."""
        if end == "conv1":
            d_conv = d_end[0]
        else:
            d_relu6 = d_end @ self.weights["fc8"][0]
            d_fc6 = d_relu6 * (cache["fc6"] > 0)
            d_relu1 = (d_fc6 @ self.weights["fc6"][0]).reshape(4, 4, 4)
            d_conv = d_relu1 * (cache["conv"] > 0)
            if tape is not None:
                tape.update(d_relu6=d_relu6, d_fc6=d_fc6, d_relu1=d_relu1)
        if tape is not None:
            tape["d_conv"] = d_conv
        w1 = self.weights["conv1"][0]
        cols = w1.reshape(4, -1).T @ d_conv.reshape(4, -1)
        return col2im_matrix(cols, (3, 9, 9), 3, 2, 0)[None].astype(np.float32)

    def forward_error(self, image: np.ndarray, image_error: np.ndarray, cache: dict,
                      end: str) -> dict[str, np.ndarray]:
        """Float32 error scales σ of forward's blobs for an image known within σ = image_error."""
        (w1, b1), (w6, b6), (w8, b8) = (_f64_weights(self, n) for n in ("conv1", "fc6", "fc8"))
        w1 = w1.reshape(4, -1)
        errors = {"conv": linear_error(lambda a, f: (f(w1) @ im2col_matrix(a[0], 3, 2, 0)).reshape(4, 4, 4),
                                       image, image_error, w1.shape[1] + 1, b1[:, None, None])}
        if end == "conv1":
            return {**errors, "blob": errors["conv"][None]}
        errors["fc6"] = linear_error(lambda a, f: a.reshape(1, -1) @ f(w6.T), cache["relu1"],
                                     errors["conv"], 64 + 1, b6)  # ReLU is exact
        errors["blob"] = linear_error(lambda a, f: a @ f(w8.T), cache["relu6"], errors["fc6"], 10 + 1, b8)
        return errors

    def backward_error(self, cache: dict, errors: dict, tape: dict, end: str,
                       d_end: np.ndarray) -> np.ndarray:
        """Float32 error scale σ of backward's result for an exact d_end (the one-hot)."""
        (w1, _), (w6, _), (w8, _) = (_f64_weights(self, n) for n in ("conv1", "fc6", "fc8"))
        e_conv = np.zeros(tape["d_conv"].shape)
        if end != "conv1":
            e_relu6 = linear_error(lambda a, f: a @ f(w8), d_end, np.zeros(d_end.shape), CLASSES)
            e_fc6 = mask_error(cache["fc6"], errors["fc6"], tape["d_relu6"], e_relu6,
                               cache["fc6"] > 0, 1.0, tape["d_fc6"])
            e_relu1 = linear_error(lambda a, f: (a @ f(w6)).reshape(4, 4, 4), tape["d_fc6"], e_fc6, 10)
            e_conv = mask_error(cache["conv"], errors["conv"], tape["d_relu1"], e_relu1,
                                cache["conv"] > 0, 1.0, tape["d_conv"])
        fold = lambda cols: col2im_matrix(cols, (3, 9, 9), 3, 2, 0)  # noqa: E731
        w1 = w1.reshape(4, -1).T
        return linear_error(lambda a, f: fold(f(w1) @ a.reshape(4, -1)), tape["d_conv"], e_conv,
                            4 * overlap((27, 16), fold))[None]


def tiny_weights(seed: int) -> tuple[dict, dict]:
    """Random float32 weights for the tiny generator and classifier (Caffe blob shapes)."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    generator = {"defc7": [normal(72, CODE_SIZE, scale=0.5), normal(72, scale=0.1)],
                 "deconv1": [normal(8, 4, 4, 4, scale=0.4), normal(4, scale=0.1)],
                 "deconv0": [normal(4, 3, 4, 4, scale=8.0), normal(3, scale=1.0)]}
    classifier = {"conv1": [normal(4, 3, 3, 3, scale=0.05), normal(4, scale=0.1)],
                  "fc6": [normal(10, 64, scale=0.2), normal(10, scale=0.1)],
                  "fc8": [normal(5, 10, scale=0.5), normal(5, scale=0.1)]}
    return generator, classifier


@dataclass
class TinyNets:
    """Paths of the written files plus the NumPy twins."""

    generator_prototxt: Path
    generator_caffemodel: Path
    classifier_prototxt: Path
    classifier_caffemodel: Path
    generator: TinyGenerator
    classifier: TinyClassifier


def write_tiny_nets(directory: Path, seed: int = 0) -> TinyNets:
    """Writes the tiny generator and classifier as real prototxt + caffemodel files."""
    from converters.caffe.writer import write_caffemodel

    gen_weights, net_weights = tiny_weights(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in ("generator.prototxt", "generator.caffemodel",
                                                 "classifier.prototxt", "classifier.caffemodel")}
    paths["generator.prototxt"].write_text(GENERATOR_PROTOTXT)
    paths["classifier.prototxt"].write_text(CLASSIFIER_PROTOTXT)
    write_caffemodel(paths["generator.caffemodel"], gen_weights,
                     layer_types={"defc7": "InnerProduct", "deconv1": "Deconvolution",
                                  "deconv0": "Deconvolution"})
    write_caffemodel(paths["classifier.caffemodel"], net_weights,
                     layer_types={"conv1": "Convolution", "fc6": "InnerProduct",
                                  "fc8": "InnerProduct"})
    return TinyNets(paths["generator.prototxt"], paths["generator.caffemodel"],
                    paths["classifier.prototxt"], paths["classifier.caffemodel"],
                    TinyGenerator(gen_weights), TinyClassifier(net_weights))


@dataclass
class ReferenceRun:
    """Per-iteration records of the NumPy loop."""

    acts: list[float]
    net_norms: list[float]
    gen_norms: list[float]
    codes: list[np.ndarray]
    best: np.ndarray


def normalised_step(value: np.ndarray, gradient: np.ndarray, step: float) -> tuple[np.ndarray, float, bool]:
    """The release's `value += step / np.abs(g).mean() * g` with its NaN / zero-norm rules.

    The factor is float64 (Python float over float32 scalar in NumPy 1.x), cast to float32
    when it multiplies the float32 array.
    """
    norm = float(np.linalg.norm(gradient))
    if np.isnan(norm):
        return value.copy(), 1e-12, False
    if norm == 0:
        return value.copy(), 0.0, False
    factor = np.float32(np.float64(step) / np.float64(np.abs(gradient).mean()))
    return (value + factor * gradient).astype(np.float32), norm, True


@dataclass
class ReferenceStep:
    """One iteration of the NumPy loop from an exact code, and the float32 error scale σ of each
    result: any float32 evaluation of the same step (any summation order, kernel, ISA or thread
    split) lies within λσ of the exact step, elementwise, but with probability ≤ 2·exp(−λ²/2)
    (float32_error.py, tests/TOLERANCES.md)."""

    code: np.ndarray  # the code after the update (K float32)
    act: float  # the unit's activation before the update (0 when no step was taken)
    net_norm: float
    gen_norm: float
    crop: np.ndarray  # the crop the net saw: the image this iteration returns
    code_error: np.ndarray  # the error scales σ (float32_error.py)
    act_error: float
    net_norm_error: float
    gen_norm_error: float
    crop_error: np.ndarray


def reference_step(nets: TinyNets, code: np.ndarray, *, act_layer: str, unit: int, xy: int, step: float,
                   l2: float, bounds: tuple[np.ndarray, np.ndarray] | None = None,
                   clip: bool = False) -> ReferenceStep:
    """One iteration of the published loop for one sample (spec "One run", step 4)."""
    code = np.asarray(code, np.float32).reshape(1, CODE_SIZE)
    top = (GEN_SIDE - NET_SIDE) // 2
    window = (slice(None), slice(None), slice(top, top + NET_SIDE), slice(top, top + NET_SIDE))
    x0, gen_cache = nets.generator.forward(code)
    gen_errors = nets.generator.forward_error(code, gen_cache)
    cropped, crop_error = x0[window].copy(), gen_errors["out"][window]
    blob, net_cache = nets.classifier.forward(cropped, act_layer)
    net_errors = nets.classifier.forward_error(cropped, crop_error, net_cache, act_layer)
    one_hot = np.zeros_like(blob)
    if blob.ndim == 2:
        one_hot.flat[unit] = 1
    else:
        one_hot[:, unit, xy, xy] = 1
    net_tape: dict = {}
    g = nets.classifier.backward(net_cache, act_layer, one_hot, net_tape)
    g_error = nets.classifier.backward_error(net_cache, net_errors, net_tape, act_layer, one_hot)
    x, net_norm, moved = normalised_step(cropped, g, step)
    act = float(blob.flat[unit] if blob.ndim == 2 else blob[0, unit, xy, xy]) if moved else 0.0
    act_error = float(net_errors["blob"].flat[int(np.flatnonzero(one_hot)[0])]) if moved else 0.0
    difference = np.zeros_like(x0)
    difference[window] = x - cropped
    difference_error = np.zeros(x0.shape)
    if moved:  # (c + f·g) − c: c's own error cancels, the rounding of c + f·g does not
        difference_error[window] = rounded(x - cropped, normalised_step_error(g, g_error, step, x))
    gen_tape: dict = {}
    h = nets.generator.backward(gen_cache, difference, gen_tape)
    h_error = nets.generator.backward_error(gen_cache, gen_errors, gen_tape, difference, difference_error)
    new_code, gen_norm, code_moved = normalised_step(code, h, step)
    code_error = normalised_step_error(h, h_error, step, new_code) if code_moved else np.zeros(code.shape)
    if clip:
        new_code = np.clip(new_code, np.float32(-1), np.float32(1))
    elif bounds is not None:
        new_code = np.minimum(np.maximum(new_code.astype(np.float64), bounds[0]), bounds[1])
    if 0 < l2 < 1:
        new_code = new_code * (np.float64(l2) if new_code.dtype == np.float64 else np.float32(l2))
        code_error = code_error * abs(l2)
    new_code = new_code.astype(np.float32)
    code_error = rounded(new_code, code_error)  # the L2 product or the float64 → float32 cast
    return ReferenceStep(new_code[0].copy(), act, net_norm, gen_norm, cropped, code_error[0], act_error,
                         norm_error(g, g_error) if moved else 0.0,
                         norm_error(h, h_error) if code_moved else 0.0, crop_error)


def reference_run(nets: TinyNets, code: np.ndarray, *, act_layer: str, unit: int, xy: int = 0,
                  n_iters: int, lr_start: float, lr_end: float, l2: float,
                  bounds: tuple[np.ndarray, np.ndarray] | None = None,
                  clip: bool = False) -> ReferenceRun:
    """The published loop for one sample, in plain NumPy (spec "One run", step 4)."""
    code = np.asarray(code, np.float32).reshape(1, CODE_SIZE)
    run = ReferenceRun([], [], [], [], np.zeros((1, 3, NET_SIDE, NET_SIDE), np.float32))
    for i in range(n_iters):
        step = lr_start + ((lr_end - lr_start) * i) / n_iters
        result = reference_step(nets, code, act_layer=act_layer, unit=unit, xy=xy, step=step, l2=l2,
                                bounds=bounds, clip=clip)
        code = result.code[None]
        run.best = result.crop
        run.acts.append(result.act)
        run.net_norms.append(result.net_norm)
        run.gen_norms.append(result.gen_norm)
        run.codes.append(result.code)
        if result.gen_norm == 0 or result.net_norm == 0:
            break
    return run


def assert_close(what: str, expected, actual, scale) -> None:
    """|actual − expected| ≤ λ·√2·σ elementwise (TOLERANCES.md, "The one-step comparison")."""
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    allowed = tolerance(scale)
    excess = np.abs(actual - expected) / allowed
    worst = int(np.argmax(excess))
    assert excess.flat[worst] <= 1, (f"{what}: |difference| {np.abs(actual - expected).flat[worst]:.3g} "
                                     f"> {allowed.flat[worst]:.3g} at {worst} (value {expected.flat[worst]:.6g})")


def assert_step_matches(what: str, reference, code, act, net_norm, gen_norm) -> None:
    """One step's results against reference_step's, each within its tolerance."""
    assert_close(f"{what} code", reference.code, code, reference.code_error)
    assert_close(f"{what} act", reference.act, act, reference.act_error)
    assert_close(f"{what} net_grad_norm", reference.net_norm, net_norm, reference.net_norm_error)
    assert_close(f"{what} gen_grad_norm", reference.gen_norm, gen_norm, reference.gen_norm_error)


def assert_run_follows_reference(nets, start, codes, acts, net_norms, gen_norms, last_crop, schedule,
                                 **step_flags) -> None:
    """Each iteration of a run equals the reference step from the run's own previous code."""
    state = np.asarray(start, np.float32).reshape(CODE_SIZE)
    for iteration, code in enumerate(codes):
        reference = reference_step(nets, state, step=schedule.step_size(iteration), l2=schedule.l2_factor,
                                   **step_flags)
        assert_step_matches(f"iteration {iteration}", reference, code, acts[iteration],
                            net_norms[iteration] if net_norms is not None else reference.net_norm,
                            gen_norms[iteration] if gen_norms is not None else reference.gen_norm)
        state = np.asarray(code, np.float32)
    assert_close("returned image", reference.crop, last_crop, reference.crop_error)
