"""The paired, stratified coalition design: budgets, bounds, no repeats."""

from __future__ import annotations

import hashlib
from math import comb

import numpy as np
import pytest

from blackbox_xai.explainers.shapley import _coalitions
from blackbox_xai.explainers.shapley._coalitions import (
    PairedDesign,
    allocate,
    stratum_mass,
    stratum_pair_counts,
    stratum_shares,
)


def test_strata_hold_every_pair_once() -> None:
    for d in (5, 6, 13):
        assert 2 * sum(stratum_pair_counts(d)) == 2**d - 2
    # kernel mass of a stratum is the Shapley kernel summed over its coalitions (per side)
    d = 6
    kernel = [(d - 1) / (comb(d, s) * s * (d - s)) for s in (1, 2, 3)]
    np.testing.assert_allclose(stratum_mass(d), [6 * kernel[0], 15 * kernel[1], 10 * kernel[2]])


def test_leverage_shares_are_equal_per_size_kernel_shares_favour_small_sizes() -> None:
    np.testing.assert_allclose(stratum_shares(7, "leverage"), np.full(3, 1 / 3))
    kernel = stratum_shares(7, "kernel")
    assert np.all(np.diff(kernel) < 0) and kernel.sum() == pytest.approx(1.0)
    geo = stratum_shares(7, "geometric")
    assert kernel[0] > geo[0] > 1 / 3


def test_allocate_meets_total_and_bounds() -> None:
    shares = np.array([0.5, 0.3, 0.2])
    counts = allocate(10, shares, np.zeros(3), np.array([2.0, 100.0, 100.0]))
    assert counts.sum() == 10 and counts[0] == 2
    assert list(counts) == [2, 5, 3]
    with pytest.raises(ValueError, match="cannot allocate 300"):
        allocate(300, shares, np.zeros(3), np.array([2.0, 100.0, 100.0]))


def test_rounds_never_repeat_a_pair_and_run_out_exactly() -> None:
    d = 7
    design = PairedDesign(d, "leverage", np.random.default_rng(0))
    drawn = [design.add_round(20) for _ in range(4)]
    assert drawn == [20, 20, 20, 3]
    for side, capacity in zip(design.pairs, design.capacity, strict=True):
        keys = {row.tobytes() for row in side}
        assert len(keys) == len(side) == capacity
    assert design.add_round(5) == 0


def test_large_strata_are_sampled_without_repeats_and_half_stratum_is_canonical() -> None:
    d = 30
    design = PairedDesign(d, "leverage", np.random.default_rng(1))
    design.add_round(3000)
    for s, side in enumerate(design.pairs, start=1):
        assert np.all(side.sum(1) == s)
        assert len({row.tobytes() for row in side}) == len(side)
    assert np.all(design.pairs[-1][:, 0])  # 2 s = d: the side holding player 0
    assert design.min_first_round() == 30


def test_designs_drawn_together_spread_over_each_stratum() -> None:
    d, n_designs = 7, 5
    design = PairedDesign(d, "leverage", np.random.default_rng(2), n_designs)
    design.add_round(12)
    design.add_round(12)
    for s, capacity in enumerate(design.capacity):
        sides = [pairs[s] for pairs in design.designs]
        per_design = len(sides[0])
        assert all(len(side) == per_design for side in sides)
        assert all(len({row.tobytes() for row in side}) == per_design for side in sides)
        union = {row.tobytes() for side in sides for row in side}
        # every pair of the stratum is used, each by as many designs as the others, +-1
        assert len(union) == min(capacity, n_designs * per_design)
        uses = [sum(row.tobytes() == key for side in sides for row in side) for key in union]
        assert max(uses) - min(uses) <= 1


@pytest.mark.parametrize("d", [5, 7, 14, 70])  # enumerated, listed and rejection strata
def test_candidate_draws_are_fresh_designs_of_the_same_counts(d) -> None:
    design = PairedDesign(d, "kernel", np.random.default_rng(4))
    design.add_round(design.min_first_round() + 4)
    assert (design.room[0] == 0) == (d == 5)  # d = 5: stratum 1 enumerated
    before = [side.copy() for side in design.pairs]
    draws = design.candidate_draws(50)
    assert all(np.array_equal(a, b) for a, b in zip(before, design.pairs, strict=True))
    for s, (side, draw) in enumerate(zip(design.pairs, draws, strict=True), start=1):
        assert draw.shape == (50, *side.shape)
        assert np.all(draw.sum(axis=2) == s)
        assert all(len({row.tobytes() for row in one}) == len(side) for one in draw)
        if 2 * s == d:
            assert np.all(draw[:, :, 0])  # the side holding player 0 stands for the pair
    assert len({b"".join(p[i].tobytes() for p in draws) for i in range(50)}) == 50
    # Installed, a draw is the design so far; later rounds add pairs it does not hold.
    chosen = [p[7] for p in draws]
    design.install(chosen)
    assert all(np.array_equal(a, b) for a, b in zip(design.pairs, chosen, strict=True))
    design.add_round(60)
    for side, first in zip(design.pairs, chosen, strict=True):
        assert np.array_equal(side[: len(first)], first)
        assert len({row.tobytes() for row in side}) == len(side)
    with pytest.raises(ValueError, match="single design"):
        PairedDesign(d, "kernel", np.random.default_rng(4), 2).install(chosen)


def test_candidate_draws_are_uniform_over_a_stratum() -> None:
    # d = 6: 2 pairs drawn of stratum 1's 6 and of stratum 2's 15 (listed: each holds
    # less than 8 times 2), every pair in a share count / capacity of the draws.
    from scipy.stats import chisquare

    design = PairedDesign(6, "kernel", np.random.default_rng(5))
    design.add_round(6)
    counts = design.counts.tolist()
    assert counts[:2] == [2, 2]
    draws = design.candidate_draws(6000)
    for s in (1, 2):
        side = draws[s - 1].reshape(-1, 6)
        _, frequency = np.unique(side, axis=0, return_counts=True)
        assert len(frequency) == design.capacity[s - 1]
        assert chisquare(frequency).pvalue > 1e-3, (s, counts, frequency)


def _draw_designs(d: int, n_designs: int) -> list[list[np.ndarray]]:
    design = PairedDesign(d, "geometric", np.random.default_rng(d), n_designs)
    design.add_round(max(design.min_first_round(), 40))
    if n_designs > 1:
        design.redraw(1)
    for _ in range(3):  # later rounds enumerate the small strata, reject in the large ones
        design.add_round(150)
    return design.designs


@pytest.mark.parametrize(("d", "n_designs"), [(7, 1), (12, 4), (30, 3), (64, 2)])
def test_integer_keys_draw_the_same_designs_as_byte_keys(monkeypatch, d, n_designs) -> None:
    fast = _draw_designs(d, n_designs)
    # _BITMASK_MAX_D = 0 keys every coalition by its bytes, the path of d > 64
    monkeypatch.setattr(_coalitions, "_BITMASK_MAX_D", 0)
    _coalitions._stratum_members.cache_clear()  # it caches keys
    general = _draw_designs(d, n_designs)
    _coalitions._stratum_members.cache_clear()
    for fast_design, general_design in zip(fast, general, strict=True):
        for a, b in zip(fast_design, general_design, strict=True):
            np.testing.assert_array_equal(a, b)
    assert sum(len(p) for p in fast[0]) == min(sum(stratum_pair_counts(d)), max(d, 40) + 450)


def test_wide_coalitions_draw_without_repeats() -> None:
    # d = 70: byte keys, and positions as Python ints (C(70, 35) overflows int64)
    (design,) = _draw_designs(70, 1)
    for s, side in enumerate(design, start=1):
        assert np.all(side.sum(1) == s)
        assert len({row.tobytes() for row in side}) == len(side)


def test_uniform_below_handles_counts_beyond_int64():
    from blackbox_xai.explainers.shapley._coalitions import uniform_below

    small = [uniform_below(np.random.default_rng(3), 1000) for _ in range(1)]
    assert small == [int(np.random.default_rng(3).integers(1000))]
    big = 2**80 + 12345
    draws = [uniform_below(np.random.default_rng(s), big) for s in range(200)]
    assert all(0 <= v < big for v in draws)
    assert max(draws) > big // 2 > min(draws)  # spread over the whole range


def _rounds_digest(
    d: int, weights: str, budget: int, n_designs: int, seed: int, n_rounds: int
) -> str:
    """Hash of the new pairs of the first rounds of :class:`_Rounds` (every design and
    stratum)."""
    from blackbox_xai.explainers.shapley.kernel import _Rounds

    seq = np.random.SeedSequence(seed)
    rounds = _Rounds(d, weights, seq, budget, n_rounds * budget, n_designs)
    digest = hashlib.sha256()
    for t in range(n_rounds):
        new_pairs, _ = rounds.get(t)
        for design in new_pairs:
            for side in design:
                digest.update(np.packbits(side, axis=1).tobytes())
                digest.update(str(side.shape).encode())
    return digest.hexdigest()[:16]


@pytest.mark.parametrize(
    ("d", "weights", "budget", "n_designs", "seed", "n_rounds", "expected"),
    [
        (6, "kernel", 14, 20, 0, 2, "59433da89f35b48e"),  # 6 designs redrawn (rank deficient)
        (13, "geometric", 200, 20, 1, 2, "ce624c001106a8e0"),  # enumeration and rejection
        (30, "leverage", 1000, 3, 2, 2, "3422ad725cf49d0d"),
        (70, "geometric", 300, 2, 3, 2, "861bafc1fb68ad97"),  # byte keys, Python-int positions
        # small rounds in strata mostly drawn: many repeats, rejection batches read whole
        (12, "leverage", 60, 2, 1, 30, "02e51a87d393fb41"),
    ],
)
def test_designs_are_pinned_for_a_seed(
    d, weights, budget, n_designs, seed, n_rounds, expected
) -> None:
    # Hashes of the designs drawn before the fixed-cost rewrite of the draws (same random
    # stream, same pairs in the same order): a change to them changes every result.
    assert _rounds_digest(d, weights, budget, n_designs, seed, n_rounds) == expected


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937])
@pytest.mark.parametrize("buffered", [False, True])
def test_skip_uniforms_leaves_the_stream_where_drawing_them_would(bit_generator, buffered) -> None:
    skipped, drawn = (np.random.Generator(bit_generator(7)) for _ in range(2))
    if buffered:  # a 32-bit draw leaves half of a 64-bit output buffered in PCG64
        skipped.integers(1000)
        drawn.integers(1000)
    _coalitions._skip_uniforms(skipped, 301)
    drawn.random(301)
    np.testing.assert_array_equal(skipped.integers(1000, size=5), drawn.integers(1000, size=5))
    np.testing.assert_array_equal(skipped.random(5), drawn.random(5))


@pytest.mark.parametrize(("d", "s"), [(6, 2), (6, 3), (70, 4)])
def test_subset_masks_take_the_partial_sort_s_choice_where_uniforms_tie(d, s) -> None:
    rng = np.random.default_rng(0)
    u = rng.random((50, d - 1 if 2 * s == d else d))
    u[::3, :2] = u[::3, [0]].min(axis=1, keepdims=True) / 2  # ties among the smallest
    u[1::3, : s + 1] = 0.0  # ties straddling the s-th smallest
    masks, keys = _coalitions._subset_masks(u, s, d)
    expected = _coalitions._pairs_to_masks(_coalitions._subsets(u, s, d), d)
    np.testing.assert_array_equal(masks, expected)
    np.testing.assert_array_equal(keys, _coalitions._keys(expected))
    assert np.all(masks.sum(axis=1) == s)
