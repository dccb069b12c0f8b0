"""Graph-to-graph reverse-mode differentiation of ONNX models (one rule per op).

API: `converters.build_vjp(model, wrt=[INPUT, ...], of=[OUTPUT, ...])` (transform.py).
CLI: `python -m converters vjp NET.onnx -o NET_vjp.onnx --wrt INPUT --of OUTPUT` (cli.py).
The result computes the `of` outputs and, from one cotangent input `<OUTPUT>_grad` per
`of`, the gradients `<INPUT>_grad`, reusing the forward tensors of the same graph.
Walker: transform.py; what rules may use: context.py; the rules: rules/*.py.
"""
