"""Caffe → ONNX conversion and ONNX → backward (VJP) ONNX graphs.

Data path, one module per arrow:
prototxt/caffemodel --(caffe.reader)--> CaffeNetModel --(caffe2onnx)--> forward ONNX
--(vjp)--> backward ONNX.
"""
