"""Power-of-two scaling of model outputs before squares and fourth powers.

Variances, residual sums and fourth central moments of outputs near ``1e300`` overflow
(and of ``1e-300`` underflow), which turned standard errors into NaN or a huge fit into
a "perfect" one. Estimators that are linear (or scale-free) in the outputs therefore work
on ``values / 2**e`` and scale back: multiplying by a power of two changes no rounding,
so ordinary outputs give bit-identical results.
"""

from __future__ import annotations

import numpy as np


def peak_exponents(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The exponent ``e`` with ``max |values| < 2**e``, per index along ``axis`` (over
    everything when None); 1 where the values are all 0 or none is finite."""
    magnitude = np.abs(values)
    if axis is None:
        peak = np.max(magnitude, initial=0.0)
    else:
        peak = np.max(np.moveaxis(magnitude, axis, 0).reshape(values.shape[axis], -1), axis=1)
    _, exponent = np.frexp(np.where(np.isfinite(peak) & (peak > 0), peak, 1.0))
    return exponent


def along(exponent: np.ndarray, ndim: int, axis: int = 0) -> np.ndarray:
    """``exponent`` (one per index of ``axis``) shaped to broadcast over ``ndim`` axes."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(exponent, shape)
