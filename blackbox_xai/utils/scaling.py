"""Power-of-two scaling of model outputs before squares and fourth powers.

Variances, residual sums and fourth central moments of outputs near ``1e300`` overflow
(and of ``1e-300`` underflow), which turned standard errors into NaN or a huge fit into
a "perfect" one. Estimators that are linear (or scale-free) in the outputs therefore work
on ``values / 2**e`` and scale back: multiplying by a power of two changes no rounding,
so ordinary outputs give bit-identical results.
"""

from __future__ import annotations

import numpy as np


def peak_exponents(values: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """The exponents ``e`` with ``max |values| < 2**e`` over ``axis`` (kept, size 1; all
    axes when None); 1 where the values are all 0 or none is finite.

    Take one exponent per output (reduce every axis but the outputs'): one shared with a
    far larger output would make an ordinary output's squares underflow.
    """
    peak = np.max(np.abs(values), axis=axis, keepdims=True, initial=0.0)
    _, exponent = np.frexp(np.where(np.isfinite(peak) & (peak > 0), peak, 1.0))
    return exponent
