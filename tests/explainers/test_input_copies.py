"""A model that writes to its input changes neither the caller's rows nor the result."""

import numpy as np

import blackbox_xai as bx


def _vandal(X):
    """Class probabilities of x0 > 0, then the input is overwritten in place."""
    p = 1.0 / (1.0 + np.exp(-4 * X[:, 0]))
    X[:] = 99.0
    return np.c_[1 - p, p]


def test_lime_protects_x_and_its_data(rng):
    bg = rng.normal(size=(60, 3))
    X = bg[:2].copy()
    before = X.copy()
    e = bx.Lime(_vandal, bg, seed=0).explain(X, n_samples=128)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(e.data, before)
    reference = bx.Lime(lambda A: _vandal(A.copy()), bg, seed=0).explain(before, n_samples=128)
    np.testing.assert_array_equal(e.values, reference.values)


def test_anchors_data_is_not_a_view_of_x(rng):
    bg = rng.normal(size=(100, 3))
    x = bg[:1].copy()
    anchor = bx.Anchors(_vandal, bg, seed=0).explain(x)
    np.testing.assert_array_equal(x, bg[:1])
    x[:] = -1.0  # the caller reuses its buffer
    np.testing.assert_array_equal(anchor.data, bg[0])
