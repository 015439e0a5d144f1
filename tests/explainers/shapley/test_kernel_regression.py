"""Kernel SHAP's regression: designs stacked on one axis solve as each one alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import pinvh

from blackbox_xai.explainers.shapley._coalitions import PairedDesign, stratum_mass
from blackbox_xai.explainers.shapley._kernel_regression import PairedRegression


def test_stacked_designs_give_each_design_s_own_results() -> None:
    d, n_designs, n, k = 9, 4, 3, 2
    design = PairedDesign(d, "geometric", np.random.default_rng(0), n_designs)
    design.add_round(40)
    stacked = [np.stack(strata) for strata in zip(*design.designs, strict=True)]
    together = PairedRegression(stacked, stratum_mass(d), design.capacity)
    rng = np.random.default_rng(1)
    y = rng.normal(size=(n_designs, n, 2 * together.pairs_total, k))
    delta = rng.normal(size=(n_designs, n, k))
    phi = together.solve(y, delta)
    se = together.stderr(y, phi)
    assert np.all(together.rank == d + 1) and np.all(se > 0)
    for b in range(n_designs):
        alone = PairedRegression([p[b : b + 1] for p in stacked], stratum_mass(d), design.capacity)
        phi_b = alone.solve(y[b : b + 1], delta[b : b + 1])
        np.testing.assert_array_equal(phi_b[0], phi[b])
        np.testing.assert_array_equal(alone.stderr(y[b : b + 1], phi_b)[0], se[b])
        # efficiency holds for every design and row
        np.testing.assert_allclose(phi[b].sum(axis=1), delta[b], atol=1e-12)


def _reference(pairs: list[np.ndarray], mass: np.ndarray, y: np.ndarray, delta: np.ndarray):
    """The textbook formulas, one design at a time: every coalition and complement as
    rows of ``Z``, ``A = Z' W Z``, the KKT system inverted by ``scipy.linalg.pinvh``."""
    z = np.concatenate([np.concatenate([p, ~p], axis=1) for p in pairs], axis=1)
    w = np.concatenate(
        [np.full(2 * p.shape[1], m / p.shape[1]) for p, m in zip(pairs, mass, strict=True)]
    )
    d = z.shape[2]
    out = []
    for b, zb in enumerate(z.astype(np.float64)):
        kkt = np.ones((d + 1, d + 1))
        kkt[:d, :d] = zb.T @ (w[:, None] * zb)
        kkt[d, d] = 0.0
        inverse, rank = pinvh(kkt, return_rank=True)
        sens, offset = inverse[:d, :d], inverse[:d, d]
        phi = (
            np.einsum("ij,jm,nmk->nik", sens, zb.T * w, y[b]) + offset[:, None] * delta[b][:, None]
        )
        out.append((rank, sens, offset, phi))
    return out


@pytest.mark.parametrize(("d", "n_pairs", "n_designs"), [(6, 6, 20), (9, 40, 4), (30, 200, 3)])
def test_results_match_the_textbook_formulas(d, n_pairs, n_designs) -> None:
    design = PairedDesign(d, "kernel", np.random.default_rng(d), n_designs)
    design.add_round(n_pairs)
    regression = PairedRegression(design.stacked, stratum_mass(d), design.capacity)
    rng = np.random.default_rng(2)
    y = rng.normal(size=(n_designs, 3, 2 * regression.pairs_total, 2))
    delta = rng.normal(size=(n_designs, 3, 2))
    phi = regression.solve(y, delta)
    reference = _reference(design.stacked, stratum_mass(d), y, delta)
    ranks = [rank for rank, *_ in reference]
    # d = 6 with 6 pairs: some designs cannot identify every player (rank d or less)
    assert (min(ranks) < d + 1) == (d == 6)
    np.testing.assert_array_equal(regression.rank, ranks)
    for b, (rank, sens, offset, phi_b) in enumerate(reference):
        scale = np.abs(sens).max()
        np.testing.assert_allclose(regression.sensitivity[b], sens, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(regression.offset[b], offset, rtol=0, atol=1e-12 * scale)
        if rank == d + 1:  # solve is only used on designs that identify every player
            np.testing.assert_allclose(phi[b], phi_b, rtol=0, atol=1e-12 * np.abs(phi_b).max())
