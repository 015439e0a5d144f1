"""Exact KL confidence bounds of Bernoulli means, vectorised, for KL-LUCB.

Kaufmann & Kalyanakrishnan (2013), "Information complexity in bandit subset
selection": with ``n`` draws of mean ``p`` and exploration rate ``beta``, the upper
bound is the largest ``q >= p`` with ``n * kl(p, q) <= beta`` and the lower bound the
smallest ``q <= p`` with the same property.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

#: Bisection stops when every bracket is narrower than this.
XTOL = 1e-12
# 1 / 2**60 is far below XTOL: the loop always ends on XTOL, this only guards it.
_MAX_ITER = 60


def kl_bernoulli(p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """KL divergence ``kl(p, q)`` of Bernoulli(p) from Bernoulli(q), elementwise.

    ``0 log 0 = 0`` and ``kl(p, q) = inf`` when ``q`` is 0 or 1 and ``p`` is not.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    return np.asarray(rel_entr(p, q) + rel_entr(1.0 - p, 1.0 - q))


def _bisect(p: np.ndarray, level: np.ndarray, upper: bool) -> np.ndarray:
    # kl(p, .) is increasing on [p, 1] and decreasing on [0, p]: on each side the
    # set {q : kl(p, q) <= level} is an interval ending at p, found by bisection.
    # Hand-written rather than scipy.optimize.elementwise.find_root: that needs
    # scipy >= 1.15 (we support 1.10), and bisection keeps the bracket on the
    # feasible side, so the returned bound is never tighter than the exact one.
    inside = p.copy()  # kl(p, inside) <= level
    outside = np.ones_like(p) if upper else np.zeros_like(p)
    at_edge = kl_bernoulli(p, outside) <= level  # the whole side is feasible
    inside[at_edge] = outside[at_edge]
    for _ in range(_MAX_ITER):
        if not np.any(np.abs(outside - inside) > XTOL):
            break
        mid = 0.5 * (inside + outside)
        ok = kl_bernoulli(p, mid) <= level
        inside = np.where(ok, mid, inside)
        outside = np.where(ok, outside, mid)
    # The bound is the infeasible end of the bracket: conservative by at most XTOL.
    return outside


def _prepare(p: np.ndarray | float, level: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    p_arr, level_arr = np.broadcast_arrays(
        np.asarray(p, dtype=np.float64), np.asarray(level, dtype=np.float64)
    )
    if np.any((p_arr < 0) | (p_arr > 1)) or np.any(level_arr < 0):
        raise ValueError("KL bounds need means in [0, 1] and non-negative levels.")
    return p_arr.astype(np.float64), level_arr.astype(np.float64)


def kl_upper_bound(p: np.ndarray | float, level: np.ndarray | float) -> np.ndarray:
    """Largest ``q`` in ``[p, 1]`` with ``kl(p, q) <= level`` (``level = beta / n``)."""
    p_arr, level_arr = _prepare(p, level)
    return _bisect(p_arr, level_arr, upper=True)


def kl_lower_bound(p: np.ndarray | float, level: np.ndarray | float) -> np.ndarray:
    """Smallest ``q`` in ``[0, p]`` with ``kl(p, q) <= level`` (``level = beta / n``)."""
    p_arr, level_arr = _prepare(p, level)
    return _bisect(p_arr, level_arr, upper=False)


def exploration_rate(n_arms: int, t: int, delta: float) -> float:
    """KL-LUCB exploration rate ``beta(t, delta)`` for ``n_arms`` arms after ``t`` rounds.

    ``log(k1 n t**a / delta) + log log(k1 n t**a / delta)`` with ``a = 1.1`` and
    ``k1 = 405.5``, the constants of Kaufmann & Kalyanakrishnan (2013) that make the
    bounds hold for every round at once with probability ``1 - delta``.
    """
    base = np.log(405.5 * n_arms * t**1.1 / delta)
    return float(base + np.log(base))
