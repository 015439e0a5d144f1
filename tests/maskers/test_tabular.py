"""Tabular masker: interventional values, batching, groups, weights, summaries, errors."""

import warnings

import numpy as np
import pytest

import blackbox_xai as bx


def test_coalition_values_are_background_averages(rng):
    bg = rng.normal(size=(7, 3))
    x = rng.normal(size=(2, 3))
    masker = bx.Tabular(bg)
    model = bx.wrap(lambda X: np.c_[X[:, 0] * X[:, 1], X[:, 2]])
    Z = np.array([[0, 0, 0], [1, 0, 1], [1, 1, 1]], dtype=bool)
    v = masker.coalition_values(model, x, Z)
    for i in range(2):
        for m, z in enumerate(Z):
            inputs = np.where(z, x[i], bg)
            expected = model(inputs).mean(axis=0)
            np.testing.assert_allclose(v[i, m], expected, rtol=1e-12)


def test_per_row_coalitions_and_memory_budget_give_same_values(rng):
    bg = rng.normal(size=(10, 4))
    x = rng.normal(size=(3, 4))
    Z = rng.random((3, 6, 4)) < 0.5
    f = bx.wrap(lambda X: np.sin(X).sum(axis=1))
    big = bx.Tabular(bg).coalition_values(f, x, Z)
    calls = f.n_calls
    tiny = bx.Tabular(bg, memory_budget_mb=1e-4)
    small = tiny.coalition_values(f, x, Z)
    np.testing.assert_allclose(small, big, rtol=1e-14)
    assert tiny.pairs_per_call() == 1 and f.n_calls - calls == 18
    assert calls == 1  # one model call spans every row and coalition


def test_groups_map_players_to_columns():
    masker = bx.Tabular(
        np.zeros((2, 4)), feature_names=["a", "b", "c", "d"], groups={"bc": ["b", "c"]}
    )
    assert masker.player_names == ["a", "bc", "d"]
    np.testing.assert_array_equal(
        masker.feature_masks(np.array([[0, 1, 0]], dtype=bool)), [[0, 1, 1, 0]]
    )
    by_index = bx.Tabular(np.zeros((2, 4)), groups=[[3, 0]])
    assert by_index.player_names == ["x0+x3", "x1", "x2"]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"g": ["a", "zz"]}, "group member 'zz' is not a feature name"),
        ([[0, 9]], r"group member 9 is not a column index in \[0, 2\)"),
        ([[0], [0, 1]], "feature 'a' is in more than one group"),
        ([[]], "feature groups must not be empty"),
    ],
)
def test_bad_groups(groups, message):
    with pytest.raises(ValueError, match=message):
        bx.Tabular(np.zeros((2, 2)), feature_names=["a", "b"], groups=groups)


def test_weights_are_normalised_and_used():
    bg = np.array([[0.0], [10.0]])
    masker = bx.Tabular(bg, weights=[3, 1])
    v = masker.coalition_values(bx.wrap(lambda X: X[:, 0]), np.array([[5.0]]), np.array([[False]]))
    assert v[0, 0, 0] == pytest.approx(2.5)
    with pytest.raises(ValueError, match="weights must be 2 finite non-negative numbers"):
        bx.Tabular(bg, weights=[1, -1])


def test_kmeans_summary_snaps_to_real_rows(rng):
    data = rng.normal(size=(300, 3))
    masker = bx.Tabular(data, summarize="kmeans", n_summary=10, seed=1)
    assert masker.data.shape == (10, 3)
    for row in masker.data:
        assert (np.abs(data - row).sum(axis=1) == 0).any()
    assert masker.weights.sum() == pytest.approx(1.0)
    again = bx.Tabular(data, summarize="kmeans", n_summary=10, seed=1)
    np.testing.assert_array_equal(again.data, masker.data)
    sample = bx.Tabular(data, summarize="sample", n_summary=5, seed=1)
    assert sample.data.shape == (5, 3)


def test_large_background_warns_and_summary_does_not(rng):
    data = rng.normal(size=(201, 2))
    with pytest.warns(UserWarning, match="background has 201 rows.*summarize='kmeans'"):
        bx.Tabular(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bx.Tabular(data, summarize="sample", n_summary=50)
    with pytest.raises(ValueError, match="summarize must be None, 'kmeans' or 'sample'"):
        bx.Tabular(data, summarize="median")


def test_bad_background_and_rows():
    with pytest.raises(
        ValueError,
        match=r"background contains NaN values \(1 in all, first at index \(0, 1\)\) \(pass allow_nan=True",
    ):
        bx.Tabular(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="background contains inf values"):
        bx.Tabular(np.array([[1.0, np.inf]]), allow_nan=True)
    masker = bx.Tabular(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but 2 were expected"):
        masker.validate(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="X contains NaN"):
        masker.validate(np.array([[0.0, np.nan]]))
    with pytest.raises(TypeError, match="X must be numeric"):
        masker.validate(np.array([["a", "b"]]))
    assert np.isnan(
        bx.Tabular(np.array([[1.0, np.nan]]), allow_nan=True).validate([[np.nan, 1.0]])
    ).any()
    with pytest.raises(ValueError, match="coalitions have 3 players, the masker has 2"):
        masker.feature_masks(np.zeros((1, 3), dtype=bool))


def test_empty_inputs_and_sparse_weights():
    masker = bx.Tabular(np.zeros((3, 2)))
    model = bx.wrap(lambda X: X[:, 0])
    assert masker.coalition_values(model, np.zeros((0, 2)), np.zeros((4, 2), dtype=bool)).shape == (
        0,
        4,
        0,
    )
    data = np.arange(20.0).reshape(10, 2)
    w = np.zeros(10)
    w[[2, 7]] = 1.0
    sampled = bx.Tabular(data, weights=w, summarize="sample", n_summary=5)
    np.testing.assert_array_equal(sampled.data, data[[2, 7]])
    with pytest.raises(ValueError, match=r"feature group \[0, 0\] lists a column twice"):
        bx.Tabular(np.zeros((2, 2)), groups=[[0, 0]])


def test_full_coalition_value_is_exactly_the_prediction(rng):
    bg = rng.normal(size=(6, 3))
    x = rng.normal(size=(1, 3))
    model = bx.wrap(lambda X: np.full(len(X), 0.1) + X[:, 0] * 0)
    v = bx.Tabular(bg).coalition_values(model, x, np.ones((1, 3), dtype=bool))
    assert v[0, 0, 0] == model(x)[0, 0]
