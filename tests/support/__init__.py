"""Code the tests share: fixtures, NumPy references, model builders, comparison helpers.

Test modules import from here (`from support.<module> import ...`; tests/ is on sys.path under
pytest), never from another test module or conftest (tests/test_tests_layout.py checks).

- paths: REPO_ROOT, SHARED (../shared, optional), THREADS (DGN_AM_THREADS)
- numpy_conv: the one NumPy convolution reference (im2col, col2im, conv2d, conv_transpose2d)
- caffe_reference: float64 NumPy references of Caffe's layers; layer_text, write_net, run_onnx,
  convert_and_run; caffe_small_nets: a small net in the V2, V1 and V0 prototxt generations
- vjp_check: check_vjp (finite differences + float32 ONNX Runtime), runner, single_node_model,
  float64 stand-ins for ops ONNX Runtime has no double kernels for, the value generators;
  vjp_graphs: graph_model (a small graph per element type), one_node, check_node (one node's
  gradient through check_vjp), shared by the rule test files
- tiny_nets: the tiny Caffe nets, their NumPy twins and the NumPy DGN-AM step (with its float32
  error scales, float32_error), assert_close, assert_run_follows_reference
- onnx_classifiers: small ONNX classifiers; own_network: the `--net_onnx` NumPy twins, act_max
- conformance: the demo pair's conformance run; sweep: the sweep tests' flags and readers;
  ports: free_port
"""
