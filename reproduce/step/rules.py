"""The loop's three rules, each written once: the step-size schedule, when L2 applies, the stop.

Each rule is a small expression (`Expr`) that is both evaluated in NumPy by the Python loop
(`reproduce.run.loop`, through `Schedule`) and emitted as ONNX nodes by the ONNX Loop export
(`reproduce.step.loop_export`), so the two cannot drift apart:

* `STEP_SIZE`: iteration i's step is `lr_start + ((lr_end − lr_start) * i) / n_iters`, in
  float64 and in that order (the release's `start + ((end - start) * i) / n` on Python floats).
* `L2_FACTOR`: the code is multiplied by L2 only when 0 < L2 < 1 (the release's
  `if 0 < L2 < 1: code *= L2`), else by 1.
* `STOPPED`: a sample stops after the iteration in which its generator gradient norm, or its
  net gradient norm, was 0 (the release's early `break`; that iteration's update is still
  stored).

Variables are named after what they hold; evaluating with NumPy float64 scalars reproduces
Python's float arithmetic bit for bit (IEEE double, same operation order).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from onnx import helper, numpy_helper


@dataclass(frozen=True)
class Var:
    """A named input of a rule (a float64 scalar, or a float32 per-sample vector for the norms)."""

    name: str


@dataclass(frozen=True)
class Const:
    """A constant with its dtype (the ONNX constant gets the same dtype)."""

    value: float
    dtype: type = np.float64


@dataclass(frozen=True)
class Op:
    """An ONNX operator applied to sub-expressions; NumPy evaluates the same operator."""

    op_type: str
    args: tuple["Expr", ...]


Expr = Var | Const | Op

_NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.true_divide,
    "Greater": np.greater, "Less": np.less, "Equal": np.equal, "And": np.logical_and,
    "Or": np.logical_or, "Not": np.logical_not, "Where": np.where}


def _op(op_type: str, *args: Expr) -> Op:
    return Op(op_type, args)


STEP_SIZE: Expr = _op("Add", Var("lr_start"),
                      _op("Div", _op("Mul", _op("Sub", Var("lr_end"), Var("lr_start")),
                                     Var("iteration")), Var("n_iters")))
L2_FACTOR: Expr = _op("Where", _op("And", _op("Greater", Var("L2"), Const(0.0)),
                                   _op("Less", Var("L2"), Const(1.0))),
                      Var("L2"), Const(1.0))
STOPPED: Expr = _op("Or", _op("Equal", Var("gen_grad_norm"), Const(0.0, np.float32)),
                    _op("Equal", Var("net_grad_norm"), Const(0.0, np.float32)))


def evaluate(expr: Expr, values: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """The rule's value in NumPy (float64 scalars unless a variable is an array)."""
    if isinstance(expr, Var):
        return values[expr.name]
    if isinstance(expr, Const):
        return expr.dtype(expr.value)
    return _NUMPY[expr.op_type](*(evaluate(arg, values) for arg in expr.args))


def to_json(expr: Expr) -> dict:
    """The rule as nested JSON objects, for a host that evaluates it outside Python (the browser
    page, web/app/rules.mjs): `{"var": name}`, `{"const": value, "dtype": "float64"|"float32"}`,
    `{"op": op_type, "args": [...]}`; evaluated with IEEE doubles in the same order it gives
    `evaluate`'s values bit for bit (tests/test_web_port.py)."""
    if isinstance(expr, Var):
        return {"var": expr.name}
    if isinstance(expr, Const):
        return {"const": float(expr.value), "dtype": np.dtype(expr.dtype).name}
    return {"op": expr.op_type, "args": [to_json(arg) for arg in expr.args]}


def emit(expr: Expr, inputs: Mapping[str, str], output: str, prefix: str) -> list:
    """ONNX nodes computing the rule into tensor `output`; `inputs` maps each variable to a
    tensor name (float64 scalars; the norms float32). Intermediate names start with `prefix`."""
    nodes = []
    counter = iter(range(1 << 30))

    def visit(node: Expr, name: str | None) -> str:
        if isinstance(node, Var):
            if name is None:
                return inputs[node.name]
            nodes.append(helper.make_node("Identity", [inputs[node.name]], [name]))
            return name
        name = name or f"{prefix}{next(counter)}"
        if isinstance(node, Const):
            value = numpy_helper.from_array(np.array(node.value, dtype=node.dtype), name)
            nodes.append(helper.make_node("Constant", [], [name], value=value))
            return name
        arguments = [visit(arg, None) for arg in node.args]
        nodes.append(helper.make_node(node.op_type, arguments, [name]))
        return name

    visit(expr, output)
    return nodes



@dataclass(frozen=True)
class Schedule:
    """Iterations, step sizes (lr_end already resolved) and L2, with the rules evaluated."""

    n_iters: int
    lr_start: float
    lr_end: float
    l2: float

    @classmethod
    def from_flags(cls, n_iters: int, start_lr: float, end_lr: float, l2: float) -> "Schedule":
        """The release's flags: `--end_lr` < 0 means the start rate."""
        return cls(n_iters, start_lr, start_lr if end_lr < 0 else end_lr, l2)

    def step_size(self, iteration: int) -> float:
        """`STEP_SIZE` for iteration `iteration` (0-based)."""
        return float(evaluate(STEP_SIZE, {"lr_start": np.float64(self.lr_start),
                                          "lr_end": np.float64(self.lr_end),
                                          "iteration": np.float64(iteration),
                                          "n_iters": np.float64(self.n_iters)}))

    @property
    def l2_factor(self) -> float:
        """`L2_FACTOR`: L2 when 0 < L2 < 1, else 1 (no decay)."""
        return float(evaluate(L2_FACTOR, {"L2": np.float64(self.l2)}))


def stopped(gen_grad_norm: np.ndarray, net_grad_norm: np.ndarray) -> np.ndarray:
    """`STOPPED` per sample."""
    return evaluate(STOPPED, {"gen_grad_norm": gen_grad_norm, "net_grad_norm": net_grad_norm})
