"""Entropy-tree bins of ``QuantileBins``."""

from __future__ import annotations

import numpy as np
import pytest

from blackbox_xai.maskers.discretize import QuantileBins


def test_entropy_edges_sit_where_the_class_changes() -> None:
    # Class 0 for x <= 3, class 1 for 3 < x <= 6, class 0 again above: two clean splits.
    x = np.arange(10.0)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    bins = QuantileBins(x[:, None], method="entropy", labels=y)
    np.testing.assert_allclose(bins.edges_[0], [3.5, 6.5])
    np.testing.assert_array_equal(bins.transform(x[:, None])[:, 0], [0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert bins.describe(0, 1) == "3.5 < x0 <= 6.5"


def test_entropy_bins_of_a_feature_unrelated_to_the_class_stay_few() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([np.repeat([0.0, 1.0], 50), rng.normal(size=100)])
    y = (X[:, 0] > 0).astype(int)
    bins = QuantileBins(X, method="entropy", labels=y)
    np.testing.assert_allclose(bins.edges_[0], [0.5])  # one pure split, nothing more
    assert bins.n_bins_[1] <= 8  # depth-3 tree: at most 8 bins
    assert set(np.unique(bins.transform(X)[:, 0])) == {0, 1}


def test_entropy_bins_of_a_constant_feature_are_one_bin() -> None:
    X = np.column_stack([np.ones(6), np.arange(6.0)])
    bins = QuantileBins(X, method="entropy", labels=[0, 0, 0, 1, 1, 1])
    assert bins.n_bins_.tolist() == [1, 2]


def test_entropy_bins_need_labels() -> None:
    with pytest.raises(ValueError, match=r"needs the class labels.*pass labels=y"):
        QuantileBins(np.arange(6.0)[:, None], method="entropy")
    with pytest.raises(ValueError, match=r"one entry per training row \(6\), got 5"):
        QuantileBins(np.arange(6.0)[:, None], method="entropy", labels=[0, 1, 0, 1, 0])


def test_unknown_method_names_the_options() -> None:
    with pytest.raises(ValueError, match="'quartile', 'decile', 'entropy'"):
        QuantileBins(np.arange(6.0)[:, None], method="tertile")
