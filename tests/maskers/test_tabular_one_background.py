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
        masker.one_background_values(model, np.zeros((2, 4)), np.ones((5, 4), bool), np.zeros(5))
