"""Lime with one set of draws shared by every row: a row's result is its own."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx
from blackbox_xai.explainers.lime.lime import Lime


def model(A: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-(A[:, 0] * A[:, 1] + np.sin(A[:, 2]) - A[:, 3])))
    return np.column_stack([1.0 - p, p])


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(200, 5))


def assert_same_rows(a: bx.Explanation, i: list[int], b: bx.Explanation, j: list[int]) -> None:
    np.testing.assert_array_equal(a.values[i], b.values[j])
    np.testing.assert_array_equal(a.stderr[i], b.stderr[j])
    np.testing.assert_array_equal(a.base_values[i], b.base_values[j])
    for key in ("r2", "holdout_r2", "local_prediction"):
        assert [a.meta[key][r] for r in i] == [b.meta[key][r] for r in j]


def test_a_rows_result_does_not_depend_on_the_other_rows_or_on_chunking(
    data: np.ndarray,
) -> None:
    X = data[:6]
    kw = {"n_samples": 300}
    base = Lime(model, data, seed=5).explain(X, **kw)
    assert base.meta["shared_samples"] and base.meta["parameters"]["share_samples"]
    alone = Lime(model, data, seed=5).explain(X[[3]], **kw)
    shuffled = Lime(model, data, seed=5).explain(X[[5, 3, 0]], **kw)
    chunked = Lime(model, data, seed=5, n_jobs=2).explain(X, chunk_size=4, **kw)
    assert_same_rows(base, [3], alone, [0])
    assert_same_rows(base, [5, 3, 0], shuffled, [0, 1, 2])
    assert_same_rows(base, list(range(6)), chunked, list(range(6)))
    other_seed = Lime(model, data, seed=6).explain(X[[3]], **kw)
    assert not np.array_equal(alone.values, other_seed.values)


def test_shared_draws_are_evaluated_once_and_counted_honestly(data: np.ndarray) -> None:
    wrapped = bx.wrap(model)
    expl = Lime(wrapped, data, seed=0).explain(data[:4], n_samples=300, n_holdout=30)
    assert expl.meta["n_model_calls"] == 1
    assert expl.meta["n_model_rows"] == 330  # once for all 4 rows
    assert expl.meta["n_evals"] == [330] * 4  # samples each row's fit and hold-out use
    # Each row weighs the same outputs by its own masks: rows differ.
    assert not np.array_equal(expl.values[0], expl.values[1])


def test_shared_and_per_row_draws_agree_within_their_errors(data: np.ndarray) -> None:
    # Both give each row a scrambled Sobol' set with a random shift: the same
    # distribution, so the same coefficients up to the sampling error both report.
    shared = Lime(model, data, seed=1).explain(data[:4], n_samples=2000, target=1)
    own = Lime(model, data, seed=1).explain(data[:4], n_samples=2000, target=1, share_samples=False)
    assert not own.meta["shared_samples"]
    assert not np.array_equal(shared.values, own.values)
    gap = np.abs(shared.values - own.values)
    assert np.all(gap <= 5 * np.hypot(shared.stderr, own.stderr))
    assert shared.stderr.mean() == pytest.approx(own.stderr.mean(), rel=0.5)


def test_masker_games_and_continuous_features_do_not_share_by_default(data: np.ndarray) -> None:
    game = Lime(model, bx.Tabular(data[:10]), seed=0).explain(data[:2], n_samples=40)
    cont = Lime(model, data, discretizer=None, seed=0).explain(data[:2], n_samples=40)
    assert not game.meta["shared_samples"] and not cont.meta["shared_samples"]
    assert cont.meta["n_model_rows"] == 2 * 44
