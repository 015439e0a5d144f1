"""QuantileBins.describe_range: readable predicates of bin ranges (used by Anchors)."""

from __future__ import annotations

import numpy as np
import pytest

from blackbox_xai.maskers.discretize import QuantileBins


@pytest.fixture
def bins() -> QuantileBins:
    # Column 0 has quartile edges 2.5, 5, 7.5 on 0..10; column 1 is categorical.
    data = np.column_stack([np.linspace(0, 10, 11), np.tile([1.0, 2.0, 3.0], 4)[:11]])
    return QuantileBins(data, categorical=[1], feature_names=["size", "color"])


def test_open_ended_ranges_read_as_one_sided_predicates(bins: QuantileBins) -> None:
    assert bins.edges_[0].tolist() == [2.5, 5.0, 7.5]
    assert bins.describe_range(0, 0, 1) == "size <= 5"
    assert bins.describe_range(0, 2, 3) == "size > 5"
    assert bins.describe_range(0, 1, 2) == "2.5 < size <= 7.5"
    assert bins.describe_range(0, 0, 3) == "size = any"


def test_describe_is_the_range_of_one_bin(bins: QuantileBins) -> None:
    assert [bins.describe(0, b) for b in range(4)] == [
        "size <= 2.5",
        "2.5 < size <= 5",
        "5 < size <= 7.5",
        "size > 7.5",
    ]
    assert bins.describe(1, 2) == "color = 3"


def test_bad_ranges_are_refused_with_a_message(bins: QuantileBins) -> None:
    with pytest.raises(ValueError, match=r"bins 2\.\.4 are not a range of the 4 bins of 'size'"):
        bins.describe_range(0, 2, 4)
    with pytest.raises(ValueError, match=r"bins 3\.\.1 are not a range"):
        bins.describe_range(0, 3, 1)
    with pytest.raises(ValueError, match="categorical feature 'color' takes one value"):
        bins.describe_range(1, 0, 2)
