"""Kernel SHAP's regression: designs stacked on one axis solve as each one alone."""

from __future__ import annotations

import numpy as np

from blackbox_xai.explainers._coalitions import PairedDesign, stratum_mass
from blackbox_xai.explainers._kernel_regression import PairedRegression


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
