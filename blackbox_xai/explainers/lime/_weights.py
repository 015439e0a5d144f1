"""LIME's sample weights: the locality kernel and the probability of each mask."""

from __future__ import annotations

import numpy as np


def kernel_weights(dist2: np.ndarray, width: float) -> np.ndarray:
    """Exponential kernel ``exp(-D^2 / (2 width^2))`` of squared distances ``D^2``.

    This is the weight lime applies (it writes it ``sqrt(exp(-D^2 / width^2))``), so the
    same ``width`` gives the same locality.
    """
    return np.exp(-dist2 / (2.0 * width**2))


def mask_probabilities(Z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Probability of each mask ``Z (M, d)`` when feature ``j`` is present w.p. ``q[..., j]``.

    ``q`` of shape ``(n, d)`` gives ``(n, M)``; features are independent, as in LIME.
    A feature that is always (``q = 1``) or never (``q = 0``) present gives its masks
    probability 0 or leaves them unchanged, with no ``0 * log(0)`` NaN.
    """
    Zf = Z.astype(np.float64)
    with np.errstate(divide="ignore"):
        logq, log1q = np.log(q), np.log1p(-q)
    impossible = (q == 0) @ Zf.T + (q == 1) @ (1.0 - Zf).T > 0
    log_prob = np.where(q > 0, logq, 0.0) @ Zf.T + np.where(q < 1, log1q, 0.0) @ (1.0 - Zf).T
    return np.where(impossible, 0.0, np.exp(log_prob))
