"""Reading and writing Caffe's files (prototxt, caffemodel) without Caffe, and converting
Caffe nets to ONNX.

One job per module, in data-path order:
- schema.py        caffe.proto's messages, built in Python with Caffe's field numbers;
- caffemodel.py    learned blobs of a binary .caffemodel (zero-copy wire-format walk);
- reader.py        prototxt + weights → CaffeNetModel (V0/V1 upgrade, inputs, TEST phase);
- weights.py       blob count/shape checks (Caffe's CopyTrainedLayersFrom);
- graph.py         the ONNX graph being built (unique names, initializers);
- layers/          one registered converter function per Caffe layer type;
- to_onnx.py       CaffeNetModel → ONNX with Caffe's blob semantics (outputs, end, batch);
- onnx_file.py     writing a large ONNX model without a second serialised copy;
- writer.py        real .caffemodel (V2/V1/V0 layouts) and prototxt files;
- synthetic.py     synthetic weights of the right shapes (benchmarks, demos, tests);
- cli.py           `python -m converters caffe2onnx`.
User-facing problems raise files.CaffeError, whose message is the one line to show.
"""
