"""Lime's standard errors: the spread of independent scrambles, checked against seeds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.lime.lime import Lime


def nonlinear(A: np.ndarray) -> np.ndarray:
    return 1.0 / (
        1.0 + np.exp(-(A[:, 0] * A[:, 1] + np.sin(2 * A[:, 2]) - A[:, 3] + A[:, 4] ** 2 / 2))
    )


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(300, 6))


RUNS: dict[str, Callable[[np.ndarray, int], bx.Explanation]] = {
    "shared": lambda X, s: Lime(nonlinear, X, seed=s).explain(X[:3], n_samples=1000, n_holdout=0),
    "per row": lambda X, s: Lime(nonlinear, X, seed=s).explain(
        X[:3], n_samples=1000, n_holdout=0, share_samples=False
    ),
    "enumerated": lambda X, s: Lime(nonlinear, X, seed=s).explain(
        X[:3], n_samples=2000, enumerate_masks=True, n_holdout=0
    ),
    "masker game": lambda X, s: Lime(nonlinear, bx.Tabular(X[:20]), seed=s).explain(
        X[:3], n_samples=400, enumerate_masks=False, n_holdout=0
    ),
}


@pytest.mark.parametrize("design", list(RUNS))
def test_standard_errors_match_the_spread_over_20_seeds(data: np.ndarray, design: str) -> None:
    # The draws are quasi-random (scrambled Sobol'), so they are not independent: the
    # errors come from the spread between independent scrambles. Over 20 seeds, the
    # root-mean-square reported error of each coefficient is within a factor 1.5 of the
    # coefficient's measured standard deviation.
    runs = [RUNS[design](data, s) for s in range(20)]
    values = np.array([r.values for r in runs])
    sd = values.std(axis=0, ddof=1)
    se = np.sqrt(np.mean([r.stderr**2 for r in runs], axis=0))
    varies = sd > 1e-9  # enumerated: the unused x5 is exactly 0 in every run
    assert varies.sum() >= 15
    ratio = se[varies] / sd[varies]
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5)), ratio
    np.testing.assert_array_equal(se[~varies] < 1e-9, True)


def test_converged_compares_errors_with_the_spread_of_the_coefficients(data: np.ndarray) -> None:
    few = Lime(nonlinear, data, seed=0).explain(data[:4], n_samples=60, tol=0.05)
    many = Lime(nonlinear, data, seed=0).explain(data[:4], n_samples=4000, tol=0.05)
    for expl in (few, many):
        v, se = expl.values, expl.stderr
        rule = np.all(se.max(axis=1) <= 0.05 * (v.max(axis=1) - v.min(axis=1)), axis=1)
        assert expl.meta["converged"] == rule.tolist()
    assert not any(few.meta["converged"]) and all(many.meta["converged"])
    assert Lime(nonlinear, data, seed=0).explain(data[:1], n_samples=60, tol=None).meta[
        "converged"
    ] == [True]
