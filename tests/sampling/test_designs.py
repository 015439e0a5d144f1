"""Shared designs: enumeration order and the scrambled Sobol' sets with their shifts."""

from __future__ import annotations

import numpy as np
import pytest

from blackbox_xai.sampling import (
    all_coalitions,
    scramble_labels,
    scramble_sizes,
    scrambled_sobol,
    shifted_uniforms,
)


def test_all_coalitions_bit_order() -> None:
    np.testing.assert_array_equal(all_coalitions(2), [[0, 0], [1, 0], [0, 1], [1, 1]])
    assert all_coalitions(0).shape == (1, 0)


@pytest.mark.parametrize(("m", "sizes"), [(1, [1]), (48, [8] * 6), (100, [16] * 6 + [4])])
def test_scramble_sizes_split_into_powers_of_two_and_a_remainder(m: int, sizes: list[int]) -> None:
    np.testing.assert_array_equal(scramble_sizes(m), sizes)
    np.testing.assert_array_equal(
        scramble_labels(np.array(sizes)), np.repeat(range(len(sizes)), sizes)
    )


def test_each_shifted_set_stratifies_every_axis() -> None:
    rng, sizes = np.random.default_rng(3), np.array([64, 64])
    U = shifted_uniforms(scrambled_sobol(rng, sizes, 5), sizes, rng)
    assert U.shape == (128, 5) and U.min() >= 0.0 and U.max() < 1.0
    for part in (U[:64], U[64:]):
        # A scrambled Sobol' set of 64 points puts exactly one point in each 1/64 strip.
        counts = np.stack(
            [np.bincount((part[:, j] * 64).astype(int), minlength=64) for j in range(5)]
        )
        np.testing.assert_array_equal(counts, 1)
    assert not np.array_equal(U[:64], U[64:])  # independent shifts


def test_too_many_dimensions_are_refused_with_a_way_out() -> None:
    with pytest.raises(ValueError, match="group features"):
        scrambled_sobol(np.random.default_rng(0), np.array([2]), 30000)
