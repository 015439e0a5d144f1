"""LIME's feature selections against scikit-learn references, on data where they differ."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge, lasso_path

from blackbox_xai.explainers.lime._select import select_features


@pytest.fixture
def correlated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Five correlated features and a noisy linear output: greedy R^2 (forward), the
    # largest full-fit coefficients and the lasso path choose three different pairs.
    rng = np.random.default_rng(7)
    F = rng.normal(size=(300, 5)) @ (np.eye(5) + rng.normal(size=(5, 5)) * 0.6)
    y = F @ rng.normal(size=5) + 0.3 * rng.normal(size=300)
    return F, y, rng.random(300) + 0.2


def forward_reference(F: np.ndarray, y: np.ndarray, w: np.ndarray, n: int) -> list[int]:
    chosen: list[int] = []
    for _ in range(n):

        def r2(j: int) -> float:
            S = [*chosen, j]
            fit = Ridge(alpha=1.0).fit(F[:, S], y, sample_weight=w)
            return float(fit.score(F[:, S], y, sample_weight=w))

        chosen.append(max((j for j in range(F.shape[1]) if j not in chosen), key=r2))
    return sorted(chosen)


def highest_weights_reference(F: np.ndarray, y: np.ndarray, w: np.ndarray, n: int) -> list[int]:
    coef = Ridge(alpha=1.0).fit(F, y, sample_weight=w).coef_
    return sorted(np.argsort(-np.abs(coef))[:n].tolist())


def lasso_reference(F: np.ndarray, y: np.ndarray, w: np.ndarray, n: int) -> list[int]:
    # Coordinate descent on a fine grid (an algorithm other than our LARS): the support
    # of the smallest penalty with at most n features.
    W = w.sum()
    root = np.sqrt(w)
    Fc, yc = (F - w @ F / W) * root[:, None], (y - w @ y / W) * root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny penalties converge slowly; not used here
        top = np.abs(Fc.T @ yc).max() / len(y)  # the smallest penalty with no feature
        _, coefs, _ = lasso_path(Fc, yc, alphas=np.geomspace(top, top * 1e-4, 600))
    last = np.flatnonzero((coefs != 0).sum(axis=0) <= n)[-1]
    return np.flatnonzero(coefs[:, last]).tolist()


@pytest.mark.parametrize(
    ("method", "reference"),
    [
        ("forward", forward_reference),
        ("highest_weights", highest_weights_reference),
        ("lasso_path", lasso_reference),
    ],
)
def test_each_selection_matches_its_reference(correlated, method: str, reference) -> None:  # type: ignore[no-untyped-def]
    F, y, w = correlated
    got = select_features(F, y, w, 2, method, 1.0, np.ones(5))
    assert got.tolist() == reference(F, y, w, 2)


def test_the_three_selections_differ_here(correlated) -> None:  # type: ignore[no-untyped-def]
    # Otherwise the test above could not tell a method from another.
    F, y, w = correlated
    picks = {
        m: tuple(select_features(F, y, w, 2, m, 1.0, np.ones(5)))
        for m in ("forward", "highest_weights", "lasso_path")
    }
    assert len(set(picks.values())) == 3, picks
    assert picks["forward"] == tuple(select_features(F, y, w, 2, "auto", 1.0, np.ones(5)))


def test_highest_weights_weigh_coefficients_by_the_instance() -> None:
    # Standardised features: the instance's value scales each coefficient's contribution.
    rng = np.random.default_rng(0)
    F = rng.normal(size=(200, 3))
    y = F @ [3.0, 2.0, 1.0]
    got = select_features(F, y, np.ones(200), 1, "highest_weights", 0.0, np.array([0.1, 1.0, 1.0]))
    assert got.tolist() == [1]  # |3 * 0.1| < |2 * 1|


def test_lasso_path_fills_up_when_the_path_has_fewer_features() -> None:
    rng = np.random.default_rng(0)
    F = rng.normal(size=(200, 4))
    # A constant output has no lasso path; an output of one feature has a path of one.
    constant = select_features(F, np.ones(200), np.ones(200), 3, "lasso_path", 1.0, np.ones(4))
    assert len(constant) == 3
    one = select_features(F, 2.0 * F[:, 2], np.ones(200), 3, "lasso_path", 1.0, np.ones(4))
    assert len(one) == 3 and 2 in one
