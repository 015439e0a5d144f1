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


@dataclass
class PairedRegression:
    """The constrained regressions of ``B`` coalition designs with the same pair counts.

    The designs of one round (one per background row with ``background="sample"``)
    have the same number of pairs in every stratum, so they share the regression
    weights and their arrays stack on a leading design axis: the products of all
    designs go through one ``np.matmul`` (or batched ``np.linalg`` call) each, with the
    same per-slice shapes as for a single design (so a design's results do not depend
    on the others).

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
        counts = [p.shape[1] for p in self.pairs]
        self.pairs_total = sum(counts)
        # Only the sides are stored as floats: every product with a complement is
        # rewritten with 1 - z, which halves the work and the memory.
        self._sides = np.concatenate(self.pairs, axis=1).astype(np.float64)
        self._stratum_weights = [
            m / c if c else 0.0 for m, c in zip(self.mass, counts, strict=True)
        ]
        self._weights = np.repeat(self._stratum_weights, counts)
        self._counts = counts
        # Where each pair's side and complement sit in :meth:`coalitions` order.
        starts = np.cumsum([0, *counts[:-1]])
        self._side_at = np.concatenate(
            [2 * s + np.arange(c) for s, c in zip(starts, counts, strict=True)]
        ).astype(np.int64)
        self._complement_at = self._side_at + np.repeat(counts, counts)
        kkt = np.zeros((n_designs, d + 1, d + 1))
        kkt[:, :d, :d] = self._gram()
        kkt[:, :d, d] = kkt[:, d, :d] = 1.0
        inverse, self.rank = _pinvh(kkt)
        self.sensitivity = inverse[:, :d, :d]
        self.offset = inverse[:, :d, d]

    def _gram(self) -> np.ndarray:
        """``Z' W Z`` of each design ``(B, d, d)`` from the sides alone: a pair adds
        ``w (z z' + (1 - z)(1 - z)') = w (2 z z' - 1 z' - z 1' + 1 1')``."""
        # Stratum by stratum (one weight each), so no weighted copy of the sides is made.
        zz = np.zeros((len(self._sides), self.d, self.d))
        first = 0
        for c, w in zip(self._counts, self._stratum_weights, strict=True):
            side = self._sides[:, first : first + c]
            zz += w * np.matmul(side.transpose(0, 2, 1), side)
            first += c
        k = np.matmul(self._weights, self._sides)  # sum_pairs w z, (B, d)
        return 2.0 * zz - k[:, None, :] - k[:, :, None] + self._weights.sum()

    def coalitions(self) -> np.ndarray:
        """Every coalition of each design ``(B, 2 * n_pairs, d)``: per stratum, sides then
        complements."""
        return np.concatenate([np.concatenate([p, ~p], axis=1) for p in self.pairs], axis=1)

    def solve(self, y: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Shapley estimates ``(B, n, d, k)`` from ``y (B, n, m, k)`` (in :meth:`coalitions`
        order) and ``delta = v(N) - v(empty)`` ``(B, n, k)``."""
        # Z' W y = sum_pairs w (z y(S) + (1 - z) y(S^c))
        #        = sum_pairs w z (y(S) - y(S^c)) + 1 sum_pairs w y(S^c)
        # np.take gives C-ordered arrays whatever y's layout (fancy indexing may not):
        # matmul picks its loop by the strides, and must pick the same for every chunk.
        y_complement = np.take(y, self._complement_at, axis=2)
        y_diff = np.take(y, self._side_at, axis=2) - y_complement
        y_diff *= self._weights[:, None]
        b = np.matmul(self._sides.transpose(0, 2, 1)[:, None], y_diff)
        b += np.matmul(self._weights, y_complement)[:, :, None, :]
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
        first = 0  # the stratum's first pair
        for side, mass, capacity in zip(self.pairs, self.mass, self.capacity, strict=True):
            c = side.shape[1]
            z_side = self._sides[:, first : first + c]
            start = 2 * first  # its first coalition: c sides, then their complements
            y_side = y[:, :, start : start + c] - y[:, :, start + c : start + 2 * c]
            first += c
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


def _pinvh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-inverses and ranks of stacked symmetric matrices ``(B, n, n)``.

    The rank is what lets the caller redraw a design that cannot tell some players
    apart instead of failing here. Same cut-off as ``scipy.linalg.pinvh``: eigenvalues
    below ``n * eps`` times the largest in magnitude count as zero. Batched numpy calls
    for all designs instead of one scipy call each (LAPACK still runs once per matrix,
    so a design's result does not depend on the others); the eigenvalues alone give
    the rank, and the full-rank matrices (all but designs about to be redrawn) are
    inverted directly, both several times cheaper than eigenvectors.
    """
    magnitude = np.abs(np.linalg.eigvalsh(a))
    cutoff = magnitude.max(axis=-1, keepdims=True) * a.shape[-1] * np.finfo(a.dtype).eps
    rank = (magnitude > cutoff).sum(axis=-1)
    full = rank == a.shape[-1]
    inverse = np.empty_like(a)
    inverse[full] = np.linalg.inv(a[full])
    for i in np.flatnonzero(~full):
        eigvals, eigvecs = np.linalg.eigh(a[i])
        kept = np.abs(eigvals) > cutoff[i]
        inverse[i] = (eigvecs[:, kept] / eigvals[kept]) @ eigvecs[:, kept].T
    return inverse, rank
