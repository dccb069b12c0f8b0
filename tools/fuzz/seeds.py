"""The valid inputs the mutators start from, small so that a case costs about a millisecond:
prototxts of every generation using most supported layer types, caffemodels of the first
one in the three layouts (the project's writer, synthetic weights), a bound line, start-code
.npy files, images of several formats and modes, mean images."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

CODE_SIZE = 16  # the --bound / --init_code targets' code length
IMAGE_SIZE = (8, 8)  # the encoder input (height, width) the --init_file target reads into
MEAN_SIZE = (10, 10)

CLASSIFIER_V2 = b"""name: "fuzz_classifier"
input: "data"
input_shape {
  dim: 1
  dim: 3
  dim: 9
  dim: 9
}
layer {
  name: "conv1"
  type: "Convolution"
  bottom: "data"
  top: "conv1"
  convolution_param {
    num_output: 4
    kernel_size: 3
    pad: 1
    stride: 1
    group: 1
  }
}
layer {
  name: "relu1"
  type: "ReLU"
  bottom: "conv1"
  top: "conv1"
}
layer {
  name: "pool1"
  type: "Pooling"
  bottom: "conv1"
  top: "pool1"
  pooling_param {
    pool: MAX
    kernel_size: 3
    stride: 2
  }
}
layer {
  name: "norm1"
  type: "LRN"
  bottom: "pool1"
  top: "norm1"
  lrn_param {
    local_size: 3
    alpha: 0.0001
    beta: 0.75
  }
}
layer {
  name: "conv2"
  type: "Convolution"
  bottom: "norm1"
  top: "conv2"
  convolution_param {
    num_output: 4
    kernel_size: 2
    group: 2
    dilation: 1
  }
}
layer {
  name: "pool2"
  type: "Pooling"
  bottom: "conv2"
  top: "pool2"
  pooling_param {
    pool: AVE
    kernel_size: 2
    stride: 1
    pad: 0
  }
}
layer {
  name: "fc"
  type: "InnerProduct"
  bottom: "pool2"
  top: "fc"
  inner_product_param {
    num_output: 5
    axis: 1
  }
}
layer {
  name: "drop"
  type: "Dropout"
  bottom: "fc"
  top: "fc"
  dropout_param {
    dropout_ratio: 0.5
  }
}
layer {
  name: "prob"
  type: "Softmax"
  bottom: "fc"
  top: "prob"
  softmax_param {
    axis: 1
  }
}
"""

GENERATOR_V2 = b"""name: "fuzz_generator"
layer {
  name: "input"
  type: "Input"
  top: "feat"
  input_param {
    shape {
      dim: 1
      dim: 8
    }
  }
}
layer {
  name: "defc"
  type: "InnerProduct"
  bottom: "feat"
  top: "defc"
  inner_product_param {
    num_output: 32
  }
}
layer {
  name: "relu"
  type: "ReLU"
  bottom: "defc"
  top: "defc"
  relu_param {
    negative_slope: 0.3
  }
}
layer {
  name: "reshape"
  type: "Reshape"
  bottom: "defc"
  top: "map"
  reshape_param {
    shape {
      dim: -1
      dim: 2
      dim: 4
      dim: 4
    }
  }
}
layer {
  name: "deconv"
  type: "Deconvolution"
  bottom: "map"
  top: "deconv"
  convolution_param {
    num_output: 4
    kernel_size: 4
    stride: 2
    pad: 1
  }
}
layer {
  name: "split"
  type: "Slice"
  bottom: "deconv"
  top: "left"
  top: "right"
  slice_param {
    axis: 1
    slice_point: 2
  }
}
layer {
  name: "sum"
  type: "Eltwise"
  bottom: "left"
  bottom: "right"
  top: "sum"
  eltwise_param {
    operation: SUM
    coeff: 1
    coeff: -1
  }
}
layer {
  name: "join"
  type: "Concat"
  bottom: "sum"
  bottom: "left"
  top: "join"
  concat_param {
    axis: 1
  }
}
layer {
  name: "bn"
  type: "BatchNorm"
  bottom: "join"
  top: "join"
  batch_norm_param {
    use_global_stats: true
    eps: 0.00001
  }
}
layer {
  name: "scale"
  type: "Scale"
  bottom: "join"
  top: "join"
  scale_param {
    axis: 1
    num_axes: 1
    bias_term: true
  }
}
layer {
  name: "power"
  type: "Power"
  bottom: "join"
  top: "power"
  power_param {
    power: 2
    scale: 0.5
    shift: 1
  }
}
layer {
  name: "crop"
  type: "Crop"
  bottom: "power"
  bottom: "left"
  top: "crop"
  crop_param {
    axis: 2
    offset: 0
  }
}
layer {
  name: "tanh"
  type: "TanH"
  bottom: "crop"
  top: "out"
}
layer {
  name: "flat"
  type: "Flatten"
  bottom: "out"
  top: "flat"
  flatten_param {
    axis: 1
  }
}
"""

CLASSIFIER_V1 = b"""name: "fuzz_v1"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 9
input_dim: 9
layers {
  name: "conv1"
  type: CONVOLUTION
  bottom: "data"
  top: "conv1"
  blobs_lr: 1
  convolution_param {
    num_output: 4
    kernel_size: 3
    stride: 2
  }
}
layers {
  name: "relu1"
  type: RELU
  bottom: "conv1"
  top: "conv1"
}
layers {
  name: "pool1"
  type: POOLING
  bottom: "conv1"
  top: "pool1"
  pooling_param {
    pool: MAX
    kernel_size: 2
    stride: 2
  }
}
layers {
  name: "fc"
  type: INNER_PRODUCT
  bottom: "pool1"
  top: "fc"
  inner_product_param {
    num_output: 5
  }
}
layers {
  name: "prob"
  type: SOFTMAX
  bottom: "fc"
  top: "prob"
}
"""

CLASSIFIER_V0 = b"""name: "fuzz_v0"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 9
input_dim: 9
layers {
  layer {
    name: "pad1"
    type: "padding"
    pad: 1
  }
  bottom: "data"
  top: "pad1"
}
layers {
  layer {
    name: "conv1"
    type: "conv"
    num_output: 4
    kernelsize: 3
    stride: 2
  }
  bottom: "pad1"
  top: "conv1"
}
layers {
  layer {
    name: "pool1"
    type: "pool"
    pool: MAX
    kernelsize: 3
    stride: 2
  }
  bottom: "conv1"
  top: "pool1"
}
layers {
  layer {
    name: "norm1"
    type: "lrn"
    local_size: 3
    alpha: 0.001
    beta: 0.75
  }
  bottom: "pool1"
  top: "norm1"
}
layers {
  layer {
    name: "fc"
    type: "innerproduct"
    num_output: 5
  }
  bottom: "norm1"
  top: "fc"
}
"""

PROTOTXTS = (CLASSIFIER_V2, GENERATOR_V2, CLASSIFIER_V1, CLASSIFIER_V0)


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    """The array as np.save writes it."""
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=allow_pickle)
    return stream.getvalue()


def mat_file(variables: dict[str, np.ndarray]) -> bytes:
    """scipy.io.savemat's bytes with a fixed header text (savemat writes the time there)."""
    from scipy.io import savemat
    stream = io.BytesIO()
    savemat(stream, variables)
    return b"MATLAB 5.0 MAT-file, fuzz seed".ljust(116) + stream.getvalue()[116:]


def _image(image: Image.Image, format_name: str, **options) -> bytes:
    stream = io.BytesIO()
    image.save(stream, format_name, **options)
    return stream.getvalue()


def _images(rng: np.random.Generator) -> tuple[bytes, ...]:
    rgb = Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8), "RGB")
    return (_image(rgb, "PNG"), _image(rgb, "JPEG", quality=90), _image(rgb, "BMP"),
            _image(rgb, "GIF"), _image(rgb, "TIFF"), _image(rgb.convert("RGBA"), "PNG"),
            _image(rgb.convert("L"), "PNG"), _image(rgb.convert("P"), "PNG"),
            _image(rgb.convert("1"), "PNG"), _image(rgb.convert("CMYK"), "JPEG"),
            _image(rgb.convert("L").convert("I;16"), "PNG"),
            _image(rgb.convert("L").convert("F"), "TIFF"), _image(rgb, "PPM"))


@dataclass(frozen=True)
class Seeds:
    """Every target's valid inputs, as bytes (and the few files a target reads besides)."""
    prototxts: tuple[bytes, ...]
    classifier_prototxt: Path  # the caffemodels' net, for the full load + conversion
    caffemodels: tuple[bytes, ...]
    bound: bytes
    codes: tuple[bytes, ...]
    images: tuple[bytes, ...]
    means: tuple[bytes, ...]
    mean_hwc: np.ndarray  # a valid mean image for the --init_file target
    image_path: Path  # a valid image for the --mean_file target


def build_seeds(workdir: Path) -> Seeds:
    """Builds the seeds once (deterministic: fixed generator seeds) into `workdir`."""
    from converters.caffe.synthetic import synthetic_weights
    from converters.caffe.writer import write_caffemodel

    rng = np.random.default_rng(2016)
    prototxt = workdir / "seed_classifier.prototxt"
    prototxt.write_bytes(CLASSIFIER_V2)
    weights = synthetic_weights(prototxt)
    types = {"conv1": "Convolution", "conv2": "Convolution", "fc": "InnerProduct"}
    caffemodels = []
    for layout in ("v2", "v1", "v0"):
        path = workdir / f"seed_{layout}.caffemodel"
        write_caffemodel(path, weights, layout=layout, layer_types=types)
        caffemodels.append(path.read_bytes())
    bound = " ".join(f"{value:.6g}" for value in rng.uniform(0, 30, CODE_SIZE)).encode() + b"\n"
    codes = (npy_bytes(rng.standard_normal((1, CODE_SIZE)).astype(np.float32)),
             npy_bytes(rng.standard_normal(CODE_SIZE)),
             npy_bytes(np.arange(CODE_SIZE).reshape(4, 4)))
    mean = rng.uniform(90, 130, (*MEAN_SIZE, 3)).astype(np.float32)
    means = (npy_bytes(mean), npy_bytes(mean.transpose(2, 0, 1).astype(np.float64)),
             mat_file({"image_mean": mean.astype(np.float64)}))
    images = _images(rng)
    image_path = workdir / "seed_image.png"
    image_path.write_bytes(images[0])
    return Seeds(prototxts=PROTOTXTS, classifier_prototxt=prototxt,
                 caffemodels=tuple(caffemodels), bound=bound, codes=codes, images=images,
                 means=means, mean_hwc=mean, image_path=image_path)
