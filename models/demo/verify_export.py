"""Check an export: the Caffe files, through the project's Caffe -> ONNX converter and ONNX
Runtime, give the torch nets' outputs (max relative error over a batch, per blob)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from common.numerics import relative_error
from converters import caffe_to_onnx
from models.demo import architecture as arch


def _run_onnx(prototxt: Path, caffemodel: Path, outputs: list[str], feeds: dict,
              batch: int) -> dict[str, np.ndarray]:
    model = caffe_to_onnx(prototxt, caffemodel, outputs=outputs, batch=batch)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(outputs, session.run(outputs, feeds)))


def max_relative_errors(out: Path, classifier, generator, codes: np.ndarray,
                        batch: int = 16) -> dict[str, float]:
    """blob -> max |onnx - torch| / max |torch| for the classifier on generated crops
    (fc6, fc8, prob) and the generator (deconv0) on `batch` of the given codes."""
    classifier.eval()
    generator.eval()
    feat = codes[:batch].astype(np.float32)
    with torch.no_grad():
        images = generator(torch.from_numpy(feat))
        top = (arch.GENERATOR_OUTPUT - arch.CLASSIFIER_INPUT) // 2
        crops = images[:, :, top:top + arch.CLASSIFIER_INPUT, top:top + arch.CLASSIFIER_INPUT]
        blobs = classifier(crops.contiguous())
    errors = {}
    gen_out = _run_onnx(out / "generator.prototxt", out / "generator.caffemodel",
                        ["deconv0"], {"feat": feat}, batch)
    errors["generator deconv0"] = relative_error(gen_out["deconv0"], images.numpy())
    names = ["fc6", "fc8", "prob"]
    cls_out = _run_onnx(out / "classifier.prototxt", out / "classifier.caffemodel", names,
                        {"data": crops.contiguous().numpy()}, batch)
    for name in names:
        errors[f"classifier {name}"] = relative_error(cls_out[name], blobs[name].numpy())
    return errors
