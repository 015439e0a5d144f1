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

import functools
from dataclasses import dataclass

import numpy as np

#: Matrices whose condition number is certainly below this are inverted directly: their
#: rank is full by pinvh's cut-off (``n * eps``, about 1e-14 relative) with a wide margin.
_SURE_COND = 1e10

#: Entries of the weighted sides formed at once for ``Z' W Z`` (256 KiB of float64).
_BLOCK_ENTRIES = 2**15


@dataclass
class PairedRegression:
    """The constrained regressions of ``B`` coalition designs with the same pair counts.

    The designs of one round (one per background row with ``background="sample"``)
    have the same number of pairs in every stratum, so they share the regression
    weights and their arrays stack on a leading design axis: the products of all
    designs go through one ``np.matmul`` (or batched LAPACK call) each, with the
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
        # Z' W Z comes from the sides alone (a complement enters as 1 - z): half the
        # product, and no float copy of every coalition for it.
        self._sides = np.concatenate(self.pairs, axis=1).astype(np.float64)
        per_pair = [m / c if c else 0.0 for m, c in zip(self.mass, counts, strict=True)]
        self._per_pair = per_pair
        self._weights = np.repeat(per_pair, counts)
        kkt = np.zeros((n_designs, d + 1, d + 1))
        kkt[:, :d, :d] = self._gram()
        kkt[:, :d, d] = kkt[:, d, :d] = 1.0
        inverse, self.rank = _pinvh(kkt)
        self.sensitivity = inverse[:, :d, :d]
        self.offset = inverse[:, :d, d]

    def conditioning(self) -> np.ndarray:
        """Condition number of each design's ``Z' W Z`` on the efficient directions
        (``1' phi = 0``), from :attr:`sensitivity`, whose eigenvalues there are its
        inverse's (and 0 along ``1``); inf for a design that cannot tell some players
        apart."""
        eigvals = np.linalg.eigvalsh(self.sensitivity)  # ascending: the 0 along 1 first
        with np.errstate(divide="ignore"):
            cond = eigvals[:, -1] / eigvals[:, 1]
        return np.where((self.rank == self.d + 1) & (eigvals[:, 1] > 0), cond, np.inf)

    def _gram(self) -> np.ndarray:
        """``Z' W Z`` of each design ``(B, d, d)`` from the sides alone: a pair adds
        ``w (z z' + (1 - z)(1 - z)') = w (2 z z' - 1 z' - z 1' + 1 1')``."""
        # A few designs at a time, so that their weighted copy stays in cache (a copy of
        # all designs at once measured slower); the product of a design is the same
        # whatever the block it is in.
        zz = np.empty((len(self._sides), self.d, self.d))
        step = max(1, _BLOCK_ENTRIES // self._sides[0].size)
        for lo in range(0, len(self._sides), step):
            block = self._sides[lo : lo + step]
            zz[lo : lo + step] = np.matmul(
                (block * self._weights[:, None]).transpose(0, 2, 1), block
            )
        k = np.matmul(self._weights, self._sides)  # sum_pairs w z, (B, d)
        return 2.0 * zz - k[:, None, :] - k[:, :, None] + self._weights.sum()

    @functools.cached_property
    def _zw(self) -> np.ndarray:
        """``W Z`` ``(B, m, d)`` in :meth:`coalitions` order, for :meth:`solve`: ``w z``
        for the sides, ``w - w z`` (the same numbers as ``w (1 - z)``) for complements.
        Built on the first solve: the regressions that only check a redrawn design's
        rank never need it."""
        zw = np.empty((len(self._sides), 2 * self.pairs_total, self.d))
        first = 0
        for c, w in zip([p.shape[1] for p in self.pairs], self._per_pair, strict=True):
            sides, complements = (
                zw[:, 2 * first : 2 * first + c],
                zw[:, 2 * first + c : 2 * (first + c)],
            )
            np.multiply(self._sides[:, first : first + c], w, out=sides)
            np.subtract(w, sides, out=complements)
            first += c
        return zw

    def coalitions(self) -> np.ndarray:
        """Every coalition of each design ``(B, 2 * n_pairs, d)``: per stratum, sides then
        complements."""
        return np.concatenate([np.concatenate([p, ~p], axis=1) for p in self.pairs], axis=1)

    def solve(self, y: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Shapley estimates ``(B, n, d, k)`` from ``y (B, n, m, k)`` (in :meth:`coalitions`
        order) and ``delta = v(N) - v(empty)`` ``(B, n, k)``."""
        # y as it comes, in one product with W Z (built once per regression): regrouping
        # y into sides and complements instead costs a copy of y per call, which
        # measured slower from a few tens of rows on.
        b = np.matmul(self._zw.transpose(0, 2, 1)[:, None], y)
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
    """Pseudo-inverses and ranks of stacked symmetric matrices ``(B, n, n)``, as
    ``scipy.linalg.pinvh`` gives them one by one.

    The rank is what lets the caller redraw a design that cannot tell some players
    apart instead of failing here. pinvh takes eigenvalues below ``n * eps`` times the
    largest as zero, but eigenvectors of a small matrix cost LAPACK several times a
    direct inverse. So every matrix is inverted directly in one batched call, and only
    those not certainly well conditioned (``||a|| ||a^-1|| >= _SURE_COND``, far above
    what any design that identifies every player gives, far below pinvh's cut-off) go
    through eigenvalues with pinvh's rule. LAPACK runs once per matrix either way, so a
    design's result does not depend on the others.
    """
    try:
        # numpy's inv batches on every supported numpy (scipy's takes stacks and
        # ``assume_a`` only from recent releases); ill-conditioned ones are handled below.
        inverse = np.linalg.inv(a)
    except np.linalg.LinAlgError:  # an exactly singular one: find it matrix by matrix
        if len(a) > 1:
            inverses, ranks = zip(*(_pinvh(a[i : i + 1]) for i in range(len(a))), strict=True)
            return np.concatenate(inverses), np.concatenate(ranks)
        inverse = np.full_like(a, np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        cond_bound = np.linalg.norm(a, axis=(1, 2)) * np.linalg.norm(inverse, axis=(1, 2))
    rank = np.full(len(a), a.shape[-1])
    for i in np.flatnonzero(~(cond_bound < _SURE_COND)):
        inverse[i], rank[i] = _eigen_pinvh(a[i])
    return inverse, rank


def _eigen_pinvh(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``scipy.linalg.pinvh(a, return_rank=True)`` (same cut-off) for one matrix."""
    eigvals, eigvecs = np.linalg.eigh(a)
    magnitude = np.abs(eigvals)
    kept = magnitude > magnitude.max() * len(a) * np.finfo(a.dtype).eps
    return (eigvecs[:, kept] / eigvals[kept]) @ eigvecs[:, kept].T, int(kept.sum())
