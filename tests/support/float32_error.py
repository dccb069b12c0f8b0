"""Probabilistic float32 error scales for the tests' NumPy twins (tests/TOLERANCES.md).

Model (Higham & Mary, "A new approach to probabilistic rounding error analysis", SIAM J. Sci.
Comput. 41(5), 2019): every float32 operation rounds with a relative error |δ| ≤ u = 2⁻²⁴,
the δ's independent with mean zero. A sum of n terms, in any order and with or without FMA, then
has an error whose scale is σ = u·√n·Σ|terms| (each of its ≤ n roundings is at most
u·Σ|terms|); a linear layer y = W·x + b whose input errors have scales σ_x propagates them as
sqrt(W²·σ_x²). Hoeffding's inequality bounds the error of any such first-order sum of
independent bounded roundings: P(|error| ≥ λ·σ) ≤ 2·exp(−λ²/2). None of this depends on the
summation order, kernel, ISA (SSE, AVX2, AVX-512, FMA) or thread split, which is why the driver
tests compare with λ·√2·σ (two independent evaluations) instead of one relative tolerance.

The worst-case bound (γ_n·|W|·|x| propagated through |W|) holds deterministically but is
~10⁵ times the measured errors on the tiny nets (TOLERANCES.md), too loose to test anything.

Each function returns σ, elementwise, for the value it describes; `apply(a, f)` stands for a
linear map whose coefficients are passed through f first (np.abs or np.square).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

UNIT_ROUNDOFF = 2.0 ** -24  # float32, round to nearest
# λ: P(|error| ≥ λσ) ≤ 2·exp(−λ²/2) ≈ 3e-8 per compared value (Hoeffding).
LAMBDA = 6.0

LinearMap = Callable[[np.ndarray, Callable[[np.ndarray], np.ndarray]], np.ndarray]


def tolerance(scale: np.ndarray | float) -> np.ndarray:
    """The allowed |a − b| between two independent float32 evaluations with error scale σ."""
    return LAMBDA * np.sqrt(2.0) * np.asarray(scale, np.float64)


def _f64(value) -> np.ndarray:
    return np.asarray(value, np.float64)


def linear_error(apply: LinearMap, x: np.ndarray, x_error: np.ndarray, n_terms: int,
                 bias: np.ndarray | float = 0.0) -> np.ndarray:
    """σ of y = L(x) + b: the input's σ through L, and the sum's own roundings (n_terms counts
    the products and the bias)."""
    propagated = apply(np.square(_f64(x_error)), np.square)
    own = UNIT_ROUNDOFF * np.sqrt(n_terms) * (apply(np.abs(_f64(x)), np.abs) + np.abs(_f64(bias)))
    return np.sqrt(propagated + np.square(own))


def rounded(value: np.ndarray, error: np.ndarray) -> np.ndarray:
    """σ after one more float32 rounding of `value` (an elementwise op)."""
    return np.hypot(_f64(error), UNIT_ROUNDOFF * np.abs(_f64(value)))


def mask_error(pre_activation: np.ndarray, pre_error: np.ndarray, upstream: np.ndarray,
               upstream_error: np.ndarray, derivative: np.ndarray, jump: float,
               result: np.ndarray) -> np.ndarray:
    """σ of result = dy·f'(x) for a (leaky) ReLU f when x is only known to within λσ_x.

    Where |x| > λσ_x the branch is decided: dy's σ times f'(x), and one rounding. Where not,
    the branch may differ and the result may jump by `jump`·|dy| (1 for ReLU, 1 − slope for
    leaky ReLU), added whole (a deterministic term, divided by λ so that λσ covers it)."""
    undecided = np.abs(_f64(pre_activation)) <= LAMBDA * _f64(pre_error)
    decided = rounded(result, np.abs(_f64(derivative)) * _f64(upstream_error))
    return decided + jump * undecided * np.abs(_f64(upstream)) / LAMBDA


def mean_abs_error(gradient: np.ndarray, gradient_error: np.ndarray) -> float:
    """σ of mean(|g|) over a sample: the g's σ (|·| is 1-Lipschitz), the N-term sum's
    roundings and the division."""
    mean = float(np.abs(_f64(gradient)).mean())
    propagated = float(np.sqrt(np.sum(np.square(_f64(gradient_error))))) / gradient.size
    return float(np.hypot(propagated, UNIT_ROUNDOFF * (np.sqrt(gradient.size) + 1) * mean))


def norm_error(gradient: np.ndarray, gradient_error: np.ndarray) -> float:
    """σ of ‖g‖₂ = sqrt(Σg²): δ‖g‖ = (g/‖g‖)·δg, plus the sum of squares' roundings (relative
    u·√N, halved by the square root) and the square root's own."""
    g = _f64(gradient)
    norm = float(np.linalg.norm(g))
    propagated = float(np.sqrt(np.sum(np.square(g * _f64(gradient_error))))) / norm
    return float(np.hypot(propagated, UNIT_ROUNDOFF * (np.sqrt(gradient.size) / 2 + 1) * norm))


def normalised_step_error(gradient: np.ndarray, gradient_error: np.ndarray, step: float,
                          stepped: np.ndarray) -> np.ndarray:
    """σ of the release's `value + step / mean|g| · g` for an exact `value`: the factor f
    carries mean|g|'s relative σ plus its float64 → float32 cast; f·g and the sum round once."""
    g = _f64(gradient)
    mean = float(np.abs(g).mean())
    factor = step / mean
    factor_error = abs(factor) * float(np.hypot(mean_abs_error(gradient, gradient_error) / mean,
                                                UNIT_ROUNDOFF))
    term_error = rounded(factor * g, np.hypot(abs(factor) * _f64(gradient_error), g * factor_error))
    return rounded(stepped, term_error)


def overlap(shape_of_cols: tuple[int, ...], fold: Callable[[np.ndarray], np.ndarray]) -> int:
    """The most column entries a col2im-style `fold` adds into one output element."""
    return int(fold(np.ones(shape_of_cols)).max())
