"""Quantile bins: ties merged, no empty bin, readable predicates, unseen categories."""

import numpy as np
import pytest

from blackbox_xai.maskers.discretize import QuantileBins


def test_quartiles_and_ties():
    X = np.c_[np.r_[np.zeros(80), np.arange(1, 21)], np.arange(100.0)]
    bins = QuantileBins(X, feature_names=["mostly_zero", "ramp"])
    np.testing.assert_array_equal(bins.n_bins_, [2, 4])
    np.testing.assert_array_equal(np.bincount(bins.transform(X)[:, 1]), [25, 25, 25, 25])
    assert np.bincount(bins.transform(X)[:, 0]).min() > 0
    assert bins.describe(1, 0) == "ramp <= 24.75"
    assert bins.describe(1, 2) == "49.5 < ramp <= 74.25"
    assert bins.describe(1, 3) == "ramp > 74.25"


def test_constant_feature_has_one_bin_and_deciles():
    X = np.c_[np.ones(50), np.arange(50.0)]
    bins = QuantileBins(X, method="decile")
    assert bins.n_bins_.tolist() == [1, 10]
    assert bins.describe(0, 0) == "x0 = any"


def test_categorical_equality_and_unseen_value():
    X = np.c_[np.repeat([1.0, 2.0, 5.0], 4), np.arange(12.0)]
    bins = QuantileBins(X, categorical=[0])
    assert bins.transform([[5.0, 0.0]])[0, 0] == 2
    assert bins.describe(0, 2) == "x0 = 5"
    with pytest.raises(
        ValueError,
        match=r"categorical feature 'x0' has value 3.0, not seen in the training data \(seen: \[1.0, 2.0, 5.0\]\)",
    ):
        bins.transform([[3.0, 0.0]])


def test_bad_parameters():
    with pytest.raises(ValueError, match="method must be 'quartile', 'decile'"):
        QuantileBins(np.zeros((4, 1)), method="octile")
    with pytest.raises(ValueError, match=r"categorical columns must be in \[0, 1\)"):
        QuantileBins(np.zeros((4, 1)), categorical=[3])
