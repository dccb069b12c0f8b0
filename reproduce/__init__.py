"""The DGN-AM driver, the experiments, images, official files.

Data path (one module per arrow): nets (Caffe files → forward ONNX → forward+VJP ONNX) →
step_graph (one fused iteration, composed by graph_compose) → step_runner (ONNX Runtime, state
kept on the device) → loop (schedule, per-sample early stop) → images / trace.
Around it: start_code, bounds, encoder (image → code), driver (one batched job), one_step and
regress (the one-iteration criterion, reference runs), step_loop (the whole loop as an ONNX
Loop), experiments + collage + labels (the paper's figures), cli_* (the subcommands).
"""
