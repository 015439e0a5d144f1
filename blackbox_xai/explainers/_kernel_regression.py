"""Kernel SHAP's weighted least squares with the efficiency constraint, and its error.

The Shapley values solve ``min sum_S w_S (y_S - z_S' phi)^2`` subject to
``1' phi = v(N) - v(empty)``, with ``y_S = v(S) - v(empty)`` (Lundberg & Lee 2017;
Covert & Lee 2021 solve the constraint in closed form). Writing the KKT system
``[[A, 1], [1', 0]] [phi; lam] = [b; delta]`` with ``A = Z' W Z`` and ``b = Z' W y``,
its inverse ``[[M, a], [a', c]]`` gives ``phi = M b + a delta`` for every row and
output at once: ``A`` depends only on the coalitions, so one factorisation serves all
rows of a chunk that share them. ``M`` is also the sensitivity used for the standard
errors: ``phi_hat - phi ~ M (b_hat - A_hat phi)``, a sum over the sampled pairs.

Per-row products go through ``np.matmul`` on stacked arrays, which runs one BLAS call
per row with the same shapes whatever the number of rows, so a row's result never
depends on which rows share its chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import pinvh


@dataclass
class PairedRegression:
    """The constrained regressions of ``B`` coalition designs with the same pair counts.

    The designs of one round (one per background row with ``background="sample"``)
    have the same number of pairs in every stratum, so they share the regression
    weights and their arrays stack on a leading design axis: the products of all
    designs go through one ``np.matmul`` each, with the same per-slice shapes as for a
    single design (so a design's results do not depend on the others).

    Parameters
    ----------
    pairs : list of bool arrays (B, c_s, d)
        Per stratum, one side ``S`` of each pair of each design (the other side is its
        complement).
    mass : array (n_strata,)
        Kernel mass of each stratum, per side of a pair.
    capacity : sequence of int
        Number of pairs each stratum holds; a stratum with all of them is enumerated.
    """

    pairs: list[np.ndarray]
    mass: np.ndarray
    capacity: list[int]

    def __post_init__(self) -> None:
        n_designs, _, d = self.pairs[0].shape
        self.d = d
        self.pairs_total = sum(p.shape[1] for p in self.pairs)
        z = self.coalitions().astype(np.float64)
        weights = np.concatenate(
            [
                np.full(2 * p.shape[1], m / p.shape[1])
                for p, m in zip(self.pairs, self.mass, strict=True)
            ]
        )
        zw_t = (z * weights[:, None]).transpose(0, 2, 1)
        kkt = np.zeros((n_designs, d + 1, d + 1))
        kkt[:, :d, :d] = np.matmul(zw_t, z)
        kkt[:, :d, d] = kkt[:, d, :d] = 1.0
        # pinvh (symmetric pseudo-inverse) also reports the rank: a design that cannot
        # tell some players apart is caught by the caller instead of failing here. One
        # call per design: scipy's pinvh does not batch, and numpy's batched eigh uses
        # another LAPACK driver (results would move by rounding).
        inverses, ranks = zip(*(pinvh(a, return_rank=True) for a in kkt), strict=True)
        inverse = np.stack(inverses)
        self.rank = np.array(ranks)
        self.sensitivity = inverse[:, :d, :d]
        self.offset = inverse[:, :d, d]
        self._zw_t = zw_t

    def coalitions(self) -> np.ndarray:
        """Every coalition of each design ``(B, 2 * n_pairs, d)``: per stratum, sides then
        complements."""
        return np.concatenate([np.concatenate([p, ~p], axis=1) for p in self.pairs], axis=1)

    def solve(self, y: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Shapley estimates ``(B, n, d, k)`` from ``y (B, n, m, k)`` (in :meth:`coalitions`
        order) and ``delta = v(N) - v(empty)`` ``(B, n, k)``."""
        b = np.matmul(self._zw_t[:, None], y)
        offset = self.offset[:, None, :, None] * delta[:, :, None, :]
        return np.matmul(self.sensitivity[:, None], b) + offset

    def stderr(self, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Standard errors ``(B, n, d, k)`` of :meth:`solve`'s estimates.

        Within a sampled stratum the pairs are a simple random sample without
        replacement, so the linearised error ``M sum_pairs w g_pair`` has the classic
        stratified variance ``sum_s mass_s^2 (1 - c_s/N_s) S_s^2 / c_s`` with ``S_s^2``
        the between-pair variance of ``M g_pair``; enumerated strata add nothing. With
        ``g = z r(S) + (1 - z) r(S^c)`` and ``M 1 = 0``, ``M g = (M z) (r(S) - r(S^c))``.
        """
        var = np.zeros_like(phi)
        start = 0
        for side, mass, capacity in zip(self.pairs, self.mass, self.capacity, strict=True):
            c = side.shape[1]
            z_side = side.astype(np.float64)
            y_side = y[:, :, start : start + c] - y[:, :, start + c : start + 2 * c]
            start += 2 * c
            if c >= capacity:
                continue
            # r(S) - r(S^c) = y(S) - y(S^c) - (2 z - 1)' phi
            resid = y_side - np.matmul((2.0 * z_side - 1.0)[:, None], phi)
            g = np.matmul(z_side, self.sensitivity)  # (M z)' for every pair; M is symmetric
            g_t = g.transpose(0, 2, 1)[:, None]
            s1 = np.matmul(g_t, resid)
            s2 = np.matmul((g_t * g_t), resid * resid)
            between = np.maximum(s2 - s1 * s1 / c, 0.0) / (c - 1)
            var += mass**2 * (1.0 - c / capacity) / c * between
        return np.sqrt(var)
