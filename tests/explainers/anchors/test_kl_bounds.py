"""KL-LUCB confidence bounds against a brute-force root solve of the KL inverse."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from blackbox_xai.explainers.anchors._kl_bounds import (
    XTOL,
    exploration_rate,
    kl_bernoulli,
    kl_lower_bound,
    kl_upper_bound,
)

P = np.array([0.0, 0.01, 0.2, 0.5, 0.9, 0.97, 0.999, 1.0])
LEVELS = np.array([1e-4, 0.01, 0.3, 2.0])


def _root(p: float, level: float, upper: bool) -> float:
    """The KL inverse by Brent's method on the side of ``p`` that is asked for."""
    edge = 1.0 if upper else 0.0
    far = float(np.nextafter(edge, p))  # kl is finite there
    if p == edge or kl_bernoulli(p, far) <= level:
        return edge  # the root lies within one float of the edge
    a, b = sorted((p, far))
    return float(brentq(lambda q: float(kl_bernoulli(p, q)) - level, a, b, xtol=1e-15))


def test_bounds_equal_the_exact_kl_inverse_and_are_never_tighter() -> None:
    p, level = (g.ravel() for g in np.meshgrid(P, LEVELS))
    upper, lower = kl_upper_bound(p, level), kl_lower_bound(p, level)
    want_upper = np.array([_root(a, b, True) for a, b in zip(p, level, strict=True)])
    want_lower = np.array([_root(a, b, False) for a, b in zip(p, level, strict=True)])
    np.testing.assert_allclose(upper, want_upper, rtol=0, atol=2 * XTOL)
    np.testing.assert_allclose(lower, want_lower, rtol=0, atol=2 * XTOL)
    # The bracket end returned is the infeasible one: the interval only widens.
    assert np.all(upper >= want_upper - 1e-15) and np.all(lower <= want_lower + 1e-15)


def test_bound_edge_cases() -> None:
    assert kl_upper_bound(0.3, np.inf) == 1.0
    assert kl_lower_bound(0.3, np.inf) == 0.0
    assert kl_upper_bound(1.0, 0.5) == 1.0
    assert kl_lower_bound(0.0, 0.5) == 0.0
    # Near level 0 the inverse is ill-conditioned (q - p ~ sqrt(level)): kl values of
    # 1e-17 are rounding noise, so p is found to about 1e-8.
    assert abs(kl_upper_bound(0.3, 0.0) - 0.3) <= 1e-7
    assert abs(kl_lower_bound(0.3, 0.0) - 0.3) <= 1e-7


def test_bounds_reject_means_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"means in \[0, 1\] and non-negative levels"):
        kl_upper_bound(1.5, 0.1)
    with pytest.raises(ValueError, match=r"means in \[0, 1\] and non-negative levels"):
        kl_lower_bound(0.5, -1.0)


def test_exploration_rate_uses_the_kl_lucb_constants() -> None:
    # log(405.5 * 10 * 2**1.1 / 0.1) = 11.3809..., plus its log, worked out by hand.
    assert exploration_rate(10, 2, 0.1) == pytest.approx(13.80397336134267, rel=1e-12)
    assert exploration_rate(10, 3, 0.1) > exploration_rate(10, 2, 0.1)
