"""Tabular.one_background_values: one background row per coalition."""

from __future__ import annotations

import numpy as np
import pytest

import blackbox_xai as bx


def test_each_coalition_uses_its_own_background_row(rng) -> None:
    bg, X = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    masker = bx.Tabular(bg, groups=[[0, 1]])
    model = bx.wrap(lambda Z: Z @ np.array([1.0, 10.0, 100.0, 1000.0]))
    Z = np.array([[[True, False, True], [False, True, False]]] * 2)
    rows = np.array([[0, 2], [1, 1]])
    v = masker.one_background_values(model, X, Z, rows)
    cols = masker.feature_masks(Z)
    expected = np.where(cols, X[:, None, :], bg[rows]) @ np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_allclose(v[..., 0], expected)
    assert model.n_rows == 4


def test_shapes_are_checked(rng) -> None:
    masker = bx.Tabular(rng.normal(size=(3, 4)))
    model = bx.wrap(lambda Z: Z.sum(1))
    with pytest.raises(ValueError, match=r"Z must have shape \(n, m, d\)"):
        masker.one_background_values(
            model, np.zeros((2, 4)), np.ones((5, 4), bool), np.zeros((2, 5), int)
        )
    with pytest.raises(TypeError, match="background_rows must be integer indices"):
        masker.one_background_values(model, np.zeros((2, 4)), np.ones((5, 4), bool), np.zeros(5))


def test_memory_budget_only_cuts_the_model_calls(rng) -> None:
    bg, X = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    Z = rng.random((5, 7, 4)) < 0.5
    rows = rng.integers(0, 3, size=(5, 7))
    big, tiny = bx.wrap(lambda A: np.sin(A).sum(1)), bx.wrap(lambda A: np.sin(A).sum(1))
    a = bx.Tabular(bg).one_background_values(big, X, Z, rows)
    b = bx.Tabular(bg, memory_budget_mb=1e-3).one_background_values(tiny, X, Z, rows)
    assert np.array_equal(a, b)
    assert big.n_calls == 1 and tiny.n_calls > 1 and tiny.n_rows == 35


def test_shared_coalitions_give_the_per_row_values(rng) -> None:
    bg, X = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    Z, rows = rng.random((7, 4)) < 0.5, rng.integers(0, 3, size=7)
    masker, model = bx.Tabular(bg, memory_budget_mb=1e-3), bx.wrap(lambda A: np.sin(A))
    shared = masker.one_background_values(model, X, Z, rows)
    per_row = masker.one_background_values(model, X, np.stack([Z] * 5), np.stack([rows] * 5))
    assert shared.shape == (5, 7, 4) and np.array_equal(shared, per_row)
