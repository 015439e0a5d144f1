"""The weighted ridge behind Lime: agreement with scikit-learn, honest standard errors."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from blackbox_xai.explainers.lime._ridge import weighted_ridge


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


def test_replicate_standard_errors_match_the_spread_over_repeated_samples() -> None:
    # Rows come in 10 independent replicates of 30 rows; within a replicate the rows are
    # dependent (each row and its mirror image -F, and a shared noise term), which
    # independent-row standard errors would get wrong.
    rng = np.random.default_rng(1)
    beta = np.array([1.0, -2.0, 0.5])
    labels = np.repeat(np.arange(10), 30)
    coefs, ses, naive = [], [], []
    for _ in range(400):
        half = rng.normal(size=(10, 15, 3))
        F = np.concatenate([half, -half], axis=1).reshape(300, 3)
        shared = np.repeat(rng.normal(size=10), 30)
        noise = (0.5 + np.abs(F[:, 0])) * (rng.normal(size=300) + 2.0 * shared * F[:, 1])
        w = np.exp(-0.5 * (F**2).sum(axis=1) / 4.0)
        parts = w[:, None] * (labels[:, None] == np.arange(10))
        y = (F @ beta + noise)[:, None]
        fit = weighted_ridge(F, y, w, alpha=0.0, parts=parts)
        coefs.append(fit.coef[:, 0])
        ses.append(fit.stderr[:, 0])
        naive.append(weighted_ridge(F, y, w, 0.0, parts=np.diag(w)).stderr[:, 0])
    sd = np.std(coefs, axis=0)
    ratio = np.sqrt(np.mean(np.square(ses), axis=0)) / sd
    assert np.all(np.abs(ratio - 1.0) < 0.15), ratio
    # Treating the rows as independent misses the shared noise of x1's coefficient.
    assert np.sqrt(np.mean(np.square(naive), axis=0))[1] < 0.5 * sd[1]


def test_merged_duplicates_give_the_same_fit_and_errors() -> None:
    rng = np.random.default_rng(2)
    U = (rng.random((12, 3)) < 0.5).astype(float)
    Y = U @ np.array([[1.0], [2.0], [-1.0]]) + rng.normal(size=(12, 1))
    pi = rng.random(12)
    counts = rng.integers(0, 3, size=(12, 4))  # draws of each row in each of 4 replicates
    counts[counts.sum(axis=1) == 0, 0] = 1
    rows, reps = np.nonzero(counts)
    rows, reps = np.repeat(rows, counts[rows, reps]), np.repeat(reps, counts[rows, reps])
    full = weighted_ridge(
        U[rows], Y[rows], pi[rows], 0.5, pi[rows, None] * (reps[:, None] == np.arange(4))
    )
    merged = weighted_ridge(U, Y, counts.sum(axis=1) * pi, 0.5, counts * pi[:, None])
    np.testing.assert_allclose(merged.coef, full.coef, rtol=1e-10)
    np.testing.assert_allclose(merged.stderr, full.stderr, rtol=1e-10)
    np.testing.assert_allclose(merged.r2, full.r2, rtol=1e-10)


def test_rows_that_were_not_drawn_have_no_sampling_error() -> None:
    U = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fit = weighted_ridge(U, np.array([[0.0], [1.0], [1.0], [3.0]]), np.ones(4), 0.0)
    np.testing.assert_array_equal(fit.stderr, 0.0)
    np.testing.assert_allclose(fit.coef[:, 0], [1.5, 1.5])


def test_mask_probabilities_of_features_always_or_never_present() -> None:
    from blackbox_xai.explainers.lime._weights import mask_probabilities
    from blackbox_xai.sampling import all_coalitions

    # Masks (00, 10, 01, 11): feature 0 always present in row 0, never in row 1.
    p = mask_probabilities(all_coalitions(2), np.array([[1.0, 0.3], [0.0, 0.5]]))
    np.testing.assert_allclose(p, [[0.0, 0.7, 0.0, 0.3], [0.5, 0.0, 0.5, 0.0]])
