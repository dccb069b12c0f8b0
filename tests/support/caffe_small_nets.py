"""A small Caffe net (Convolution, ReLU, Pooling, LRN, InnerProduct, Dropout, Softmax) written in
each prototxt generation (V2, V1 and V0, whose convolution padding is a separate layer), with
seeded float32 weights, their layer types for the caffemodel writer, and an input.

RNG is the stream the weights and input were drawn from (seed 7); tests/test_caffe_reader.py
draws its further random values from it, after these.
"""
from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(7)

SMALL_NET_V2 = """name: "small"
input: "data"
input_shape { dim: 1 dim: 3 dim: 11 dim: 11 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 2 engine: CUDNN } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
  lrn_param { local_size: 3 alpha: 0.001 beta: 0.75 } }
layer { name: "fc" type: "InnerProduct" bottom: "norm1" top: "fc"
  inner_product_param { num_output: 5 } }
layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""

SMALL_NET_V1 = """name: "small"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 11 input_dim: 11
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 2 } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layers { name: "norm1" type: LRN bottom: "pool1" top: "norm1"
  lrn_param { local_size: 3 alpha: 0.001 beta: 0.75 } }
layers { name: "fc" type: INNER_PRODUCT bottom: "norm1" top: "fc"
  inner_product_param { num_output: 5 } }
layers { name: "drop" type: DROPOUT bottom: "fc" top: "fc" dropout_param { dropout_ratio: 0.5 } }
layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
"""

# V0, with the convolution's padding as a separate "padding" layer, as early Caffe wrote it.
SMALL_NET_V0 = """name: "small"
input: "data"
input_dim: 1 input_dim: 3 input_dim: 11 input_dim: 11
layers { layer { name: "pad1" type: "padding" pad: 1 } bottom: "data" top: "pad1" }
layers { layer { name: "conv1" type: "conv" num_output: 4 kernelsize: 3 stride: 2
  weight_filler { type: "gaussian" std: 0.01 } blobs_lr: 1. blobs_lr: 2. weight_decay: 1. }
  bottom: "pad1" top: "conv1" }
layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }
layers { layer { name: "pool1" type: "pool" pool: MAX kernelsize: 3 stride: 2 }
  bottom: "conv1" top: "pool1" }
layers { layer { name: "norm1" type: "lrn" local_size: 3 alpha: 0.001 beta: 0.75 }
  bottom: "pool1" top: "norm1" }
layers { layer { name: "fc" type: "innerproduct" num_output: 5 } bottom: "norm1" top: "fc" }
layers { layer { name: "drop" type: "dropout" dropout_ratio: 0.5 } bottom: "fc" top: "fc" }
layers { layer { name: "prob" type: "softmax" } bottom: "fc" top: "prob" }
"""

SMALL_WEIGHTS = {
    "conv1": [RNG.standard_normal((4, 3, 3, 3)).astype(np.float32),
              RNG.standard_normal(4).astype(np.float32)],
    "fc": [RNG.standard_normal((5, 36)).astype(np.float32),
           RNG.standard_normal(5).astype(np.float32)],
}
SMALL_TYPES = {"conv1": "Convolution", "fc": "InnerProduct"}
SMALL_INPUT = RNG.standard_normal((1, 3, 11, 11)).astype(np.float32)
