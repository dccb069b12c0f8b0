"""Caffe's caffe.proto (the subset this project reads and writes), built in Python at import time.

The message layouts below restate BVLC Caffe's `src/caffe/proto/caffe.proto` field by field:
same field numbers, scalar types, defaults and enum values, so real prototxt and caffemodel
files (V0, V1 and V2 generations) parse. No protoc and no generated `_pb2` module is used:
`_file_descriptor()` turns the tables into a FileDescriptorProto and the message classes are
made from it.

Two variants are built from the same tables:
- package `caffe` (the exported classes): Caffe's schema exactly;
- package `caffe_raw` (`RAW`): identical except that BlobProto's packed float/double arrays
  are declared `bytes`, which is the same wire encoding; the reader uses it to turn weights
  into NumPy arrays without a Python float per element.

LayerParameter (and V1LayerParameter) hold every `*_param` field of caffe.proto, with its
message, so that a file using any of Caffe's layer types parses whether or not the converter
supports the type (it then reports the type by name), and adding a converter for one of them
(one new module in converters/caffe/layers/) needs no edit here. Only a layer type from a
Caffe fork, with a parameter message caffe.proto lacks, would need its message added below.
"""
from __future__ import annotations

from types import SimpleNamespace

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# A field: (label, type, name, number[, default]); label "o" optional, "q" required,
# "r" repeated, "p" repeated packed. Types are proto scalar names, or message/enum names (an enum nested in
# the same message is named bare; "Outer.Inner" elsewhere).
_ENGINE = [("DEFAULT", 0), ("CAFFE", 1), ("CUDNN", 2)]

MESSAGES: dict[str, tuple[list[tuple], dict[str, list[tuple[str, int]]]]] = {
    "BlobShape": ([("p", "int64", "dim", 1)], {}),
    "BlobProto": ([
        ("o", "BlobShape", "shape", 7),
        ("p", "float", "data", 5), ("p", "float", "diff", 6),
        ("p", "double", "double_data", 8), ("p", "double", "double_diff", 9),
        ("o", "int32", "num", 1, "0"), ("o", "int32", "channels", 2, "0"),
        ("o", "int32", "height", 3, "0"), ("o", "int32", "width", 4, "0"),
    ], {}),
    "BlobProtoVector": ([("r", "BlobProto", "blobs", 1)], {}),
    "FillerParameter": ([
        ("o", "string", "type", 1, "constant"), ("o", "float", "value", 2, "0"),
        ("o", "float", "min", 3, "0"), ("o", "float", "max", 4, "1"),
        ("o", "float", "mean", 5, "0"), ("o", "float", "std", 6, "1"),
        ("o", "int32", "sparse", 7, "-1"),
        ("o", "VarianceNorm", "variance_norm", 8, "FAN_IN"),
    ], {"VarianceNorm": [("FAN_IN", 0), ("FAN_OUT", 1), ("AVERAGE", 2)]}),
    "NetParameter": ([
        ("o", "string", "name", 1), ("r", "string", "input", 3),
        ("r", "BlobShape", "input_shape", 8), ("r", "int32", "input_dim", 4),
        ("o", "bool", "force_backward", 5, "false"), ("o", "NetState", "state", 6),
        ("o", "bool", "debug_info", 7, "false"),
        ("r", "LayerParameter", "layer", 100), ("r", "V1LayerParameter", "layers", 2),
    ], {}),
    "NetState": ([
        ("o", "Phase", "phase", 1, "TEST"), ("o", "int32", "level", 2, "0"),
        ("r", "string", "stage", 3),
    ], {}),
    "NetStateRule": ([
        ("o", "Phase", "phase", 1), ("o", "int32", "min_level", 2),
        ("o", "int32", "max_level", 3), ("r", "string", "stage", 4),
        ("r", "string", "not_stage", 5),
    ], {}),
    "ParamSpec": ([
        ("o", "string", "name", 1), ("o", "DimCheckMode", "share_mode", 2),
        ("o", "float", "lr_mult", 3, "1"), ("o", "float", "decay_mult", 4, "1"),
    ], {"DimCheckMode": [("STRICT", 0), ("PERMISSIVE", 1)]}),
    "LayerParameter": ([
        ("o", "string", "name", 1), ("o", "string", "type", 2),
        ("r", "string", "bottom", 3), ("r", "string", "top", 4),
        ("o", "Phase", "phase", 10), ("r", "float", "loss_weight", 5),
        ("r", "ParamSpec", "param", 6), ("r", "BlobProto", "blobs", 7),
        ("r", "bool", "propagate_down", 11),
        ("r", "NetStateRule", "include", 8), ("r", "NetStateRule", "exclude", 9),
        ("o", "TransformationParameter", "transform_param", 100),
        ("o", "LossParameter", "loss_param", 101),
        ("o", "AccuracyParameter", "accuracy_param", 102),
        ("o", "ArgMaxParameter", "argmax_param", 103),
        ("o", "BatchNormParameter", "batch_norm_param", 139),
        ("o", "BiasParameter", "bias_param", 141),
        ("o", "ConcatParameter", "concat_param", 104),
        ("o", "ConvolutionParameter", "convolution_param", 106),
        ("o", "CropParameter", "crop_param", 144),
        ("o", "DataParameter", "data_param", 107),
        ("o", "DropoutParameter", "dropout_param", 108),
        ("o", "EltwiseParameter", "eltwise_param", 110),
        ("o", "ELUParameter", "elu_param", 140),
        ("o", "ExpParameter", "exp_param", 111),
        ("o", "FlattenParameter", "flatten_param", 135),
        ("o", "InnerProductParameter", "inner_product_param", 117),
        ("o", "InputParameter", "input_param", 143),
        ("o", "LogParameter", "log_param", 134),
        ("o", "LRNParameter", "lrn_param", 118),
        ("o", "PoolingParameter", "pooling_param", 121),
        ("o", "PowerParameter", "power_param", 122),
        ("o", "PReLUParameter", "prelu_param", 131),
        ("o", "PythonParameter", "python_param", 130),
        ("o", "ReLUParameter", "relu_param", 123),
        ("o", "ReshapeParameter", "reshape_param", 133),
        ("o", "ScaleParameter", "scale_param", 142),
        ("o", "SigmoidParameter", "sigmoid_param", 124),
        ("o", "SoftmaxParameter", "softmax_param", 125),
        ("o", "SliceParameter", "slice_param", 126),
        ("o", "TanHParameter", "tanh_param", 127),
        ("o", "ThresholdParameter", "threshold_param", 128),
        ("o", "TileParameter", "tile_param", 138),
        ("o", "ClipParameter", "clip_param", 148),
        ("o", "ContrastiveLossParameter", "contrastive_loss_param", 105),
        ("o", "DummyDataParameter", "dummy_data_param", 109),
        ("o", "EmbedParameter", "embed_param", 137),
        ("o", "HDF5DataParameter", "hdf5_data_param", 112),
        ("o", "HDF5OutputParameter", "hdf5_output_param", 113),
        ("o", "HingeLossParameter", "hinge_loss_param", 114),
        ("o", "ImageDataParameter", "image_data_param", 115),
        ("o", "InfogainLossParameter", "infogain_loss_param", 116),
        ("o", "MemoryDataParameter", "memory_data_param", 119),
        ("o", "MVNParameter", "mvn_param", 120),
        ("o", "ParameterParameter", "parameter_param", 145),
        ("o", "RecurrentParameter", "recurrent_param", 146),
        ("o", "ReductionParameter", "reduction_param", 136),
        ("o", "SPPParameter", "spp_param", 132),
        ("o", "SwishParameter", "swish_param", 147),
        ("o", "WindowDataParameter", "window_data_param", 129),
    ], {}),
    "TransformationParameter": ([
        ("o", "float", "scale", 1, "1"), ("o", "bool", "mirror", 2, "false"),
        ("o", "uint32", "crop_size", 3, "0"), ("o", "string", "mean_file", 4),
        ("r", "float", "mean_value", 5), ("o", "bool", "force_color", 6, "false"),
        ("o", "bool", "force_gray", 7, "false"),
    ], {}),
    "LossParameter": ([
        ("o", "int32", "ignore_label", 1), ("o", "NormalizationMode", "normalization", 3, "VALID"),
        ("o", "bool", "normalize", 2),
    ], {"NormalizationMode": [("FULL", 0), ("VALID", 1), ("BATCH_SIZE", 2), ("NONE", 3)]}),
    "AccuracyParameter": ([
        ("o", "uint32", "top_k", 1, "1"), ("o", "int32", "axis", 2, "1"),
        ("o", "int32", "ignore_label", 3),
    ], {}),
    "ArgMaxParameter": ([
        ("o", "bool", "out_max_val", 1, "false"), ("o", "uint32", "top_k", 2, "1"),
        ("o", "int32", "axis", 3),
    ], {}),
    "BatchNormParameter": ([
        ("o", "bool", "use_global_stats", 1), ("o", "float", "moving_average_fraction", 2, "0.999"),
        ("o", "float", "eps", 3, "1e-05"),
    ], {}),
    "BiasParameter": ([
        ("o", "int32", "axis", 1, "1"), ("o", "int32", "num_axes", 2, "1"),
        ("o", "FillerParameter", "filler", 3),
    ], {}),
    "ConcatParameter": ([
        ("o", "int32", "axis", 2, "1"), ("o", "uint32", "concat_dim", 1, "1"),
    ], {}),
    "ConvolutionParameter": ([
        ("o", "uint32", "num_output", 1), ("o", "bool", "bias_term", 2, "true"),
        ("r", "uint32", "pad", 3), ("r", "uint32", "kernel_size", 4),
        ("r", "uint32", "stride", 6), ("r", "uint32", "dilation", 18),
        ("o", "uint32", "pad_h", 9, "0"), ("o", "uint32", "pad_w", 10, "0"),
        ("o", "uint32", "kernel_h", 11), ("o", "uint32", "kernel_w", 12),
        ("o", "uint32", "stride_h", 13), ("o", "uint32", "stride_w", 14),
        ("o", "uint32", "group", 5, "1"),
        ("o", "FillerParameter", "weight_filler", 7), ("o", "FillerParameter", "bias_filler", 8),
        ("o", "Engine", "engine", 15, "DEFAULT"), ("o", "int32", "axis", 16, "1"),
        ("o", "bool", "force_nd_im2col", 17, "false"),
    ], {"Engine": _ENGINE}),
    "CropParameter": ([("o", "int32", "axis", 1, "2"), ("r", "uint32", "offset", 2)], {}),
    "DataParameter": ([
        ("o", "string", "source", 1), ("o", "uint32", "batch_size", 4),
        ("o", "uint32", "rand_skip", 7, "0"), ("o", "DB", "backend", 8, "LEVELDB"),
        ("o", "float", "scale", 2, "1"), ("o", "string", "mean_file", 3),
        ("o", "uint32", "crop_size", 5, "0"), ("o", "bool", "mirror", 6, "false"),
        ("o", "bool", "force_encoded_color", 9, "false"), ("o", "uint32", "prefetch", 10, "4"),
    ], {"DB": [("LEVELDB", 0), ("LMDB", 1)]}),
    "DropoutParameter": ([("o", "float", "dropout_ratio", 1, "0.5")], {}),
    "EltwiseParameter": ([
        ("o", "EltwiseOp", "operation", 1, "SUM"), ("r", "float", "coeff", 2),
        ("o", "bool", "stable_prod_grad", 3, "true"),
    ], {"EltwiseOp": [("PROD", 0), ("SUM", 1), ("MAX", 2)]}),
    "ELUParameter": ([("o", "float", "alpha", 1, "1")], {}),
    "ExpParameter": ([
        ("o", "float", "base", 1, "-1"), ("o", "float", "scale", 2, "1"),
        ("o", "float", "shift", 3, "0"),
    ], {}),
    "FlattenParameter": ([("o", "int32", "axis", 1, "1"), ("o", "int32", "end_axis", 2, "-1")], {}),
    "InnerProductParameter": ([
        ("o", "uint32", "num_output", 1), ("o", "bool", "bias_term", 2, "true"),
        ("o", "FillerParameter", "weight_filler", 3), ("o", "FillerParameter", "bias_filler", 4),
        ("o", "int32", "axis", 5, "1"), ("o", "bool", "transpose", 6, "false"),
    ], {}),
    "InputParameter": ([("r", "BlobShape", "shape", 1)], {}),
    "LogParameter": ([
        ("o", "float", "base", 1, "-1"), ("o", "float", "scale", 2, "1"),
        ("o", "float", "shift", 3, "0"),
    ], {}),
    "LRNParameter": ([
        ("o", "uint32", "local_size", 1, "5"), ("o", "float", "alpha", 2, "1"),
        ("o", "float", "beta", 3, "0.75"),
        ("o", "NormRegion", "norm_region", 4, "ACROSS_CHANNELS"),
        ("o", "float", "k", 5, "1"), ("o", "Engine", "engine", 6, "DEFAULT"),
    ], {"NormRegion": [("ACROSS_CHANNELS", 0), ("WITHIN_CHANNEL", 1)], "Engine": _ENGINE}),
    "PoolingParameter": ([
        ("o", "PoolMethod", "pool", 1, "MAX"),
        ("o", "uint32", "pad", 4, "0"), ("o", "uint32", "pad_h", 9, "0"),
        ("o", "uint32", "pad_w", 10, "0"), ("o", "uint32", "kernel_size", 2),
        ("o", "uint32", "kernel_h", 5), ("o", "uint32", "kernel_w", 6),
        ("o", "uint32", "stride", 3, "1"), ("o", "uint32", "stride_h", 7),
        ("o", "uint32", "stride_w", 8), ("o", "Engine", "engine", 11, "DEFAULT"),
        ("o", "bool", "global_pooling", 12, "false"),
        ("o", "RoundMode", "round_mode", 13, "CEIL"),
    ], {"PoolMethod": [("MAX", 0), ("AVE", 1), ("STOCHASTIC", 2)], "Engine": _ENGINE,
        "RoundMode": [("CEIL", 0), ("FLOOR", 1)]}),
    "PowerParameter": ([
        ("o", "float", "power", 1, "1"), ("o", "float", "scale", 2, "1"),
        ("o", "float", "shift", 3, "0"),
    ], {}),
    "PReLUParameter": ([
        ("o", "FillerParameter", "filler", 1), ("o", "bool", "channel_shared", 2, "false"),
    ], {}),
    "PythonParameter": ([
        ("o", "string", "module", 1), ("o", "string", "layer", 2),
        ("o", "string", "param_str", 3, ""), ("o", "bool", "share_in_parallel", 4, "false"),
    ], {}),
    "ReLUParameter": ([
        ("o", "float", "negative_slope", 1, "0"), ("o", "Engine", "engine", 2, "DEFAULT"),
    ], {"Engine": _ENGINE}),
    "ReshapeParameter": ([
        ("o", "BlobShape", "shape", 1), ("o", "int32", "axis", 2, "0"),
        ("o", "int32", "num_axes", 3, "-1"),
    ], {}),
    "ScaleParameter": ([
        ("o", "int32", "axis", 1, "1"), ("o", "int32", "num_axes", 2, "1"),
        ("o", "FillerParameter", "filler", 3), ("o", "bool", "bias_term", 4, "false"),
        ("o", "FillerParameter", "bias_filler", 5),
    ], {}),
    "SigmoidParameter": ([("o", "Engine", "engine", 1, "DEFAULT")], {"Engine": _ENGINE}),
    "SoftmaxParameter": ([
        ("o", "Engine", "engine", 1, "DEFAULT"), ("o", "int32", "axis", 2, "1"),
    ], {"Engine": _ENGINE}),
    "SliceParameter": ([
        ("o", "int32", "axis", 3, "1"), ("r", "uint32", "slice_point", 2),
        ("o", "uint32", "slice_dim", 1, "1"),
    ], {}),
    "TanHParameter": ([("o", "Engine", "engine", 1, "DEFAULT")], {"Engine": _ENGINE}),
    "ThresholdParameter": ([("o", "float", "threshold", 1, "0")], {}),
    "TileParameter": ([("o", "int32", "axis", 1, "1"), ("o", "int32", "tiles", 2)], {}),
    "HDF5OutputParameter": ([("o", "string", "file_name", 1)], {}),
    "ClipParameter": ([("q", "float", "min", 1), ("q", "float", "max", 2)], {}),
    "ContrastiveLossParameter": ([
        ("o", "float", "margin", 1, "1"), ("o", "bool", "legacy_version", 2, "false"),
    ], {}),
    "DummyDataParameter": ([
        ("r", "FillerParameter", "data_filler", 1), ("r", "BlobShape", "shape", 6),
        ("r", "uint32", "num", 2), ("r", "uint32", "channels", 3),
        ("r", "uint32", "height", 4), ("r", "uint32", "width", 5),
    ], {}),
    "EmbedParameter": ([
        ("o", "uint32", "num_output", 1), ("o", "uint32", "input_dim", 2),
        ("o", "bool", "bias_term", 3, "true"), ("o", "FillerParameter", "weight_filler", 4),
        ("o", "FillerParameter", "bias_filler", 5),
    ], {}),
    "HDF5DataParameter": ([
        ("o", "string", "source", 1), ("o", "uint32", "batch_size", 2),
        ("o", "bool", "shuffle", 3, "false"),
    ], {}),
    "HingeLossParameter": ([("o", "Norm", "norm", 1, "L1")], {"Norm": [("L1", 1), ("L2", 2)]}),
    "ImageDataParameter": ([
        ("o", "string", "source", 1), ("o", "uint32", "batch_size", 4, "1"),
        ("o", "uint32", "rand_skip", 7, "0"), ("o", "bool", "shuffle", 8, "false"),
        ("o", "uint32", "new_height", 9, "0"), ("o", "uint32", "new_width", 10, "0"),
        ("o", "bool", "is_color", 11, "true"), ("o", "float", "scale", 2, "1"),
        ("o", "string", "mean_file", 3), ("o", "uint32", "crop_size", 5, "0"),
        ("o", "bool", "mirror", 6, "false"), ("o", "string", "root_folder", 12, ""),
    ], {}),
    "InfogainLossParameter": ([("o", "string", "source", 1), ("o", "int32", "axis", 2, "1")],
                              {}),
    "MemoryDataParameter": ([
        ("o", "uint32", "batch_size", 1), ("o", "uint32", "channels", 2),
        ("o", "uint32", "height", 3), ("o", "uint32", "width", 4),
    ], {}),
    "MVNParameter": ([
        ("o", "bool", "normalize_variance", 1, "true"), ("o", "bool", "across_channels", 2, "false"),
        ("o", "float", "eps", 3, "1e-09"),
    ], {}),
    "ParameterParameter": ([("o", "BlobShape", "shape", 1)], {}),
    "RecurrentParameter": ([
        ("o", "uint32", "num_output", 1, "0"), ("o", "FillerParameter", "weight_filler", 2),
        ("o", "FillerParameter", "bias_filler", 3), ("o", "bool", "debug_info", 4, "false"),
        ("o", "bool", "expose_hidden", 5, "false"),
    ], {}),
    "ReductionParameter": ([
        ("o", "ReductionOp", "operation", 1, "SUM"), ("o", "int32", "axis", 2, "0"),
        ("o", "float", "coeff", 3, "1"),
    ], {"ReductionOp": [("SUM", 1), ("ASUM", 2), ("SUMSQ", 3), ("MEAN", 4)]}),
    "SPPParameter": ([
        ("o", "uint32", "pyramid_height", 1), ("o", "PoolMethod", "pool", 2, "MAX"),
        ("o", "Engine", "engine", 6, "DEFAULT"),
    ], {"PoolMethod": [("MAX", 0), ("AVE", 1), ("STOCHASTIC", 2)], "Engine": _ENGINE}),
    "SwishParameter": ([("o", "float", "beta", 1, "1")], {}),
    "WindowDataParameter": ([
        ("o", "string", "source", 1), ("o", "float", "scale", 2, "1"),
        ("o", "string", "mean_file", 3), ("o", "uint32", "batch_size", 4),
        ("o", "uint32", "crop_size", 5, "0"), ("o", "bool", "mirror", 6, "false"),
        ("o", "float", "fg_threshold", 7, "0.5"), ("o", "float", "bg_threshold", 8, "0.5"),
        ("o", "float", "fg_fraction", 9, "0.25"), ("o", "uint32", "context_pad", 10, "0"),
        ("o", "string", "crop_mode", 11, "warp"), ("o", "bool", "cache_images", 12, "false"),
        ("o", "string", "root_folder", 13, ""),
    ], {}),
    "V1LayerParameter": ([
        ("r", "string", "bottom", 2), ("r", "string", "top", 3), ("o", "string", "name", 4),
        ("r", "NetStateRule", "include", 32), ("r", "NetStateRule", "exclude", 33),
        ("o", "LayerType", "type", 5), ("r", "BlobProto", "blobs", 6),
        ("r", "string", "param", 1001), ("r", "DimCheckMode", "blob_share_mode", 1002),
        ("r", "float", "blobs_lr", 7), ("r", "float", "weight_decay", 8),
        ("r", "float", "loss_weight", 35),
        ("o", "AccuracyParameter", "accuracy_param", 27),
        ("o", "ArgMaxParameter", "argmax_param", 23),
        ("o", "ConcatParameter", "concat_param", 9),
        ("o", "ConvolutionParameter", "convolution_param", 10),
        ("o", "DataParameter", "data_param", 11),
        ("o", "DropoutParameter", "dropout_param", 12),
        ("o", "EltwiseParameter", "eltwise_param", 24),
        ("o", "ExpParameter", "exp_param", 41),
        ("o", "HDF5OutputParameter", "hdf5_output_param", 14),
        ("o", "InnerProductParameter", "inner_product_param", 17),
        ("o", "LRNParameter", "lrn_param", 18),
        ("o", "PoolingParameter", "pooling_param", 19),
        ("o", "PowerParameter", "power_param", 21),
        ("o", "ReLUParameter", "relu_param", 30),
        ("o", "SigmoidParameter", "sigmoid_param", 38),
        ("o", "SoftmaxParameter", "softmax_param", 39),
        ("o", "SliceParameter", "slice_param", 31),
        ("o", "TanHParameter", "tanh_param", 37),
        ("o", "ThresholdParameter", "threshold_param", 25),
        ("o", "TransformationParameter", "transform_param", 36),
        ("o", "LossParameter", "loss_param", 42),
        ("o", "ContrastiveLossParameter", "contrastive_loss_param", 40),
        ("o", "DummyDataParameter", "dummy_data_param", 26),
        ("o", "HDF5DataParameter", "hdf5_data_param", 13),
        ("o", "HingeLossParameter", "hinge_loss_param", 29),
        ("o", "ImageDataParameter", "image_data_param", 15),
        ("o", "InfogainLossParameter", "infogain_loss_param", 16),
        ("o", "MemoryDataParameter", "memory_data_param", 22),
        ("o", "MVNParameter", "mvn_param", 34),
        ("o", "WindowDataParameter", "window_data_param", 20),
        ("o", "V0LayerParameter", "layer", 1),
    ], {"LayerType": [
        ("NONE", 0), ("ABSVAL", 35), ("ACCURACY", 1), ("ARGMAX", 30), ("BNLL", 2),
        ("CONCAT", 3), ("CONTRASTIVE_LOSS", 37), ("CONVOLUTION", 4), ("DATA", 5),
        ("DECONVOLUTION", 39), ("DROPOUT", 6), ("DUMMY_DATA", 32), ("EUCLIDEAN_LOSS", 7),
        ("ELTWISE", 25), ("EXP", 38), ("FLATTEN", 8), ("HDF5_DATA", 9), ("HDF5_OUTPUT", 10),
        ("HINGE_LOSS", 28), ("IM2COL", 11), ("IMAGE_DATA", 12), ("INFOGAIN_LOSS", 13),
        ("INNER_PRODUCT", 14), ("LRN", 15), ("MEMORY_DATA", 29),
        ("MULTINOMIAL_LOGISTIC_LOSS", 16), ("MVN", 34), ("POOLING", 17), ("POWER", 26),
        ("RELU", 18), ("SIGMOID", 19), ("SIGMOID_CROSS_ENTROPY_LOSS", 27), ("SILENCE", 36),
        ("SOFTMAX", 20), ("SOFTMAX_LOSS", 21), ("SPLIT", 22), ("SLICE", 33), ("TANH", 23),
        ("WINDOW_DATA", 24), ("THRESHOLD", 31)],
        "DimCheckMode": [("STRICT", 0), ("PERMISSIVE", 1)]}),
    "V0LayerParameter": ([
        ("o", "string", "name", 1), ("o", "string", "type", 2),
        ("o", "uint32", "num_output", 3), ("o", "bool", "biasterm", 4, "true"),
        ("o", "FillerParameter", "weight_filler", 5), ("o", "FillerParameter", "bias_filler", 6),
        ("o", "uint32", "pad", 7, "0"), ("o", "uint32", "kernelsize", 8),
        ("o", "uint32", "group", 9, "1"), ("o", "uint32", "stride", 10, "1"),
        ("o", "PoolMethod", "pool", 11, "MAX"), ("o", "float", "dropout_ratio", 12, "0.5"),
        ("o", "uint32", "local_size", 13, "5"), ("o", "float", "alpha", 14, "1"),
        ("o", "float", "beta", 15, "0.75"), ("o", "float", "k", 22, "1"),
        ("o", "string", "source", 16), ("o", "float", "scale", 17, "1"),
        ("o", "string", "meanfile", 18), ("o", "uint32", "batchsize", 19),
        ("o", "uint32", "cropsize", 20, "0"), ("o", "bool", "mirror", 21, "false"),
        ("r", "BlobProto", "blobs", 50), ("r", "float", "blobs_lr", 51),
        ("r", "float", "weight_decay", 52), ("o", "uint32", "rand_skip", 53, "0"),
        ("o", "float", "det_fg_threshold", 54, "0.5"), ("o", "float", "det_bg_threshold", 55, "0.5"),
        ("o", "float", "det_fg_fraction", 56, "0.25"), ("o", "uint32", "det_context_pad", 58, "0"),
        ("o", "string", "det_crop_mode", 59, "warp"),
        ("o", "int32", "new_num", 60, "0"), ("o", "int32", "new_channels", 61, "0"),
        ("o", "int32", "new_height", 62, "0"), ("o", "int32", "new_width", 63, "0"),
        ("o", "bool", "shuffle_images", 64, "false"), ("o", "uint32", "concat_dim", 65, "1"),
        ("o", "HDF5OutputParameter", "hdf5_output_param", 1001),
    ], {"PoolMethod": [("MAX", 0), ("AVE", 1), ("STOCHASTIC", 2)]}),
}
TOP_LEVEL_ENUMS = {"Phase": [("TRAIN", 0), ("TEST", 1)]}

_FDP = descriptor_pb2.FieldDescriptorProto
_LABELS = {"o": _FDP.LABEL_OPTIONAL, "q": _FDP.LABEL_REQUIRED, "r": _FDP.LABEL_REPEATED,
           "p": _FDP.LABEL_REPEATED}
_SCALARS = {name: getattr(_FDP, "TYPE_" + name.upper()) for name in
            ("double", "float", "int64", "uint64", "int32", "uint32", "bool", "string", "bytes")}
_RAW_BYTES_FIELDS = {("BlobProto", "data"), ("BlobProto", "diff"),
                     ("BlobProto", "double_data"), ("BlobProto", "double_diff")}


def _set_field_type(field: _FDP, message: str, type_name: str, package: str) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
        return
    own_enums = MESSAGES[message][1]
    if type_name in own_enums:
        field.type, field.type_name = _FDP.TYPE_ENUM, f".{package}.{message}.{type_name}"
    elif type_name in TOP_LEVEL_ENUMS or "." in type_name:
        field.type, field.type_name = _FDP.TYPE_ENUM, f".{package}.{type_name}"
    else:
        field.type, field.type_name = _FDP.TYPE_MESSAGE, f".{package}.{type_name}"


def _file_descriptor(package: str, raw_blob_data: bool) -> descriptor_pb2.FileDescriptorProto:
    """Builds the FileDescriptorProto of caffe.proto's subset under `package`."""
    file_proto = descriptor_pb2.FileDescriptorProto(name=f"{package}.proto", package=package,
                                                     syntax="proto2")
    for enum_name, values in TOP_LEVEL_ENUMS.items():
        enum = file_proto.enum_type.add(name=enum_name)
        for value_name, number in values:
            enum.value.add(name=value_name, number=number)
    for message_name, (fields, enums) in MESSAGES.items():
        message = file_proto.message_type.add(name=message_name)
        for enum_name, values in enums.items():
            enum = message.enum_type.add(name=enum_name)
            for value_name, number in values:
                enum.value.add(name=value_name, number=number)
        for label, type_name, name, number, *default in fields:
            field = message.field.add(name=name, number=number, label=_LABELS[label])
            if raw_blob_data and (message_name, name) in _RAW_BYTES_FIELDS:
                field.label, field.type = _FDP.LABEL_OPTIONAL, _FDP.TYPE_BYTES
                continue
            _set_field_type(field, message_name, type_name, package)
            if default:
                field.default_value = default[0]
            if label == "p":
                field.options.packed = True
    return file_proto


def _build_classes(package: str, raw_blob_data: bool) -> SimpleNamespace:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor(package, raw_blob_data))
    return SimpleNamespace(**{
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in MESSAGES})


_CAFFE = _build_classes("caffe", raw_blob_data=False)
RAW = _build_classes("caffe_raw", raw_blob_data=True)

BlobShape = _CAFFE.BlobShape
BlobProto = _CAFFE.BlobProto
BlobProtoVector = _CAFFE.BlobProtoVector
FillerParameter = _CAFFE.FillerParameter
NetParameter = _CAFFE.NetParameter
NetState = _CAFFE.NetState
NetStateRule = _CAFFE.NetStateRule
ParamSpec = _CAFFE.ParamSpec
LayerParameter = _CAFFE.LayerParameter
V1LayerParameter = _CAFFE.V1LayerParameter
V0LayerParameter = _CAFFE.V0LayerParameter
ConvolutionParameter = _CAFFE.ConvolutionParameter
PoolingParameter = _CAFFE.PoolingParameter
InnerProductParameter = _CAFFE.InnerProductParameter
LRNParameter = _CAFFE.LRNParameter
ReLUParameter = _CAFFE.ReLUParameter
DropoutParameter = _CAFFE.DropoutParameter
SoftmaxParameter = _CAFFE.SoftmaxParameter
ConcatParameter = _CAFFE.ConcatParameter
EltwiseParameter = _CAFFE.EltwiseParameter
ReshapeParameter = _CAFFE.ReshapeParameter
FlattenParameter = _CAFFE.FlattenParameter
ScaleParameter = _CAFFE.ScaleParameter
BiasParameter = _CAFFE.BiasParameter
BatchNormParameter = _CAFFE.BatchNormParameter
PowerParameter = _CAFFE.PowerParameter
CropParameter = _CAFFE.CropParameter
SliceParameter = _CAFFE.SliceParameter
InputParameter = _CAFFE.InputParameter
