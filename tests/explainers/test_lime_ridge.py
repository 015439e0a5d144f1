"""The weighted ridge behind Lime: agreement with scikit-learn, honest standard errors."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from blackbox_xai.explainers._ridge import weighted_ridge


def test_matches_sklearn_ridge_with_sample_weights() -> None:
    rng = np.random.default_rng(0)
    F = rng.normal(size=(200, 4))
    Y = F @ rng.normal(size=(4, 2)) + rng.normal(size=(200, 2))
    w = rng.random(200)
    fit = weighted_ridge(F, Y, w, alpha=3.0)
    ref = Ridge(alpha=3.0).fit(F, Y, sample_weight=w)
    np.testing.assert_allclose(fit.coef, ref.coef_.T, rtol=1e-10)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, rtol=1e-10)
    r2 = [
        Ridge(alpha=3.0).fit(F, Y[:, o], sample_weight=w).score(F, Y[:, o], sample_weight=w)
        for o in range(2)
    ]
    np.testing.assert_allclose(fit.r2, r2, rtol=1e-10)


def test_sandwich_standard_errors_match_the_spread_over_repeated_samples() -> None:
    rng = np.random.default_rng(1)
    beta = np.array([1.0, -2.0, 0.5])
    coefs, ses = [], []
    for _ in range(400):
        F = rng.normal(size=(150, 3))
        noise = rng.normal(size=150) * (0.5 + np.abs(F[:, 0]))  # heteroskedastic
        w = np.exp(-0.5 * (F**2).sum(axis=1) / 4.0)
        fit = weighted_ridge(F, (F @ beta + noise)[:, None], w, alpha=0.0)
        coefs.append(fit.coef[:, 0])
        ses.append(fit.stderr[:, 0])
    ratio = np.mean(ses, axis=0) / np.std(coefs, axis=0)
    assert np.all(np.abs(ratio - 1.0) < 0.12), ratio


def test_merged_duplicates_give_the_same_fit_and_errors() -> None:
    rng = np.random.default_rng(2)
    U = (rng.random((12, 3)) < 0.5).astype(float)
    Y = U @ np.array([[1.0], [2.0], [-1.0]]) + rng.normal(size=(12, 1))
    pi = rng.random(12)
    counts = rng.integers(1, 4, size=12)
    rows = np.repeat(np.arange(12), counts)
    full = weighted_ridge(U[rows], Y[rows], pi[rows], alpha=0.5)
    merged = weighted_ridge(
        U, Y, counts * pi, alpha=0.5, w2=counts * pi**2, n_obs=int(counts.sum())
    )
    np.testing.assert_allclose(merged.coef, full.coef, rtol=1e-10)
    np.testing.assert_allclose(merged.stderr, full.stderr, rtol=1e-10)
    np.testing.assert_allclose(merged.r2, full.r2, rtol=1e-10)


def test_enumerated_rows_have_no_sampling_error() -> None:
    U = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fit = weighted_ridge(U, np.array([[0.0], [1.0], [1.0], [3.0]]), np.ones(4), 0.0, w2=np.zeros(4))
    np.testing.assert_array_equal(fit.stderr, 0.0)
    np.testing.assert_allclose(fit.coef[:, 0], [1.5, 1.5])
