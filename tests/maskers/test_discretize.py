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
    assert bins.describe_range(1, 0, 0) == "ramp <= 24.75"
    assert bins.describe_range(1, 2, 2) == "49.5 < ramp <= 74.25"
    assert bins.describe_range(1, 3, 3) == "ramp > 74.25"


def test_constant_feature_has_one_bin_and_deciles():
    X = np.c_[np.ones(50), np.arange(50.0)]
    bins = QuantileBins(X, method="decile")
    assert bins.n_bins_.tolist() == [1, 10]
    assert bins.describe_range(0, 0, 0) == "x0 = any"


def test_categorical_equality_and_unseen_value():
    X = np.c_[np.repeat([1.0, 2.0, 5.0], 4), np.arange(12.0)]
    bins = QuantileBins(X, categorical=[0])
    assert bins.transform([[5.0, 0.0]])[0, 0] == 2
    assert bins.describe_range(0, 2, 2) == "x0 = 5"
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


def test_a_feature_mostly_at_its_maximum_keeps_two_bins():
    # 80% ones: every quartile is 1, the maximum. The ties at the maximum are the top bin.
    rng = np.random.default_rng(0)
    flag = (rng.random(200) < 0.8).astype(float)
    # 40% spread below 1 and 60% at 1: the edge at 1 moves to the largest value below it.
    spread = np.where(rng.random(200) < 0.6, 1.0, rng.random(200) * 0.9)
    bins = QuantileBins(np.c_[flag, spread])
    np.testing.assert_array_equal(bins.edges_[0], [0.0])
    assert bins.edges_[1][-1] == spread[spread < 1].max()
    B = bins.transform(np.c_[flag, spread])
    np.testing.assert_array_equal(B[:, 0], flag)
    np.testing.assert_array_equal(B[:, 1] == bins.n_bins_[1] - 1, spread == 1.0)
    assert np.bincount(B[:, 1]).min() > 0


def test_categorical_codes_are_printed_exactly():
    X = np.c_[np.repeat([0.1, 12346.0, -3.0], 4), np.arange(12.0)]
    bins = QuantileBins(X, categorical=[0], feature_names=["code", "x"])
    assert [bins.describe_range(0, b, b) for b in range(3)] == [
        "code = -3",
        "code = 0.1",
        "code = 12346",
    ]
