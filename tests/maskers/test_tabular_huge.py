"""Summaries of values near the float64 limit."""

import warnings

import numpy as np

import blackbox_xai as bx


def test_kmeans_summary_of_huge_values_keeps_its_clusters():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's ConvergenceWarning was the only sign
        huge = bx.Tabular(X * 1e300, summarize="kmeans", n_summary=10)
    plain = bx.Tabular(X, summarize="kmeans", n_summary=10)
    assert huge.data.shape == (10, 3)
    np.testing.assert_allclose(huge.data, plain.data * 1e300, rtol=1e-12)
    np.testing.assert_allclose(huge.weights, plain.weights, rtol=1e-12)
