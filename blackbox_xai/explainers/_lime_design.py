"""Sample designs of LIME: quasi-random antithetic uniforms, a fixed lattice, masks, weights."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from scipy.stats import qmc

#: Most dimensions scipy's Sobol' generator supports.
_SOBOL_MAX_DIM = 21201

#: scipy >= 1.15 names the generator argument ``rng`` (``seed`` before).
_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"

#: Largest uniform below 1, so ``1 - u`` and ``u`` both stay in ``[0, 1)``.
_BELOW_ONE = 1.0 - 2.0**-53


def stratified_uniforms(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """``m`` draws of ``d`` uniforms: scrambled Sobol' points in antithetic pairs.

    Randomised quasi-Monte Carlo: each scrambled Sobol' point is uniform, yet the set
    stratifies every axis-aligned box far better than independent or Latin-hypercube
    draws. Masks ("``u_j`` falls in ``x``'s bin") and tree models are unions of such
    boxes, so the coefficients vary several times less from seed to seed. The second
    half is ``1 - u`` of the first (antithetic), which cancels the odd part of the rest.
    """
    if d > _SOBOL_MAX_DIM:
        raise ValueError(
            f"LIME's quasi-random design handles up to {_SOBOL_MAX_DIM} interpretable "
            f"features, got {d}; group features (fewer players) first."
        )
    h = -(-m // 2)
    with warnings.catch_warnings():
        # The first h points of a scrambled sequence stay low-discrepancy and uniform;
        # only the exact balance of power-of-two sizes is lost, which we do not need.
        warnings.filterwarnings("ignore", message="The balance properties of Sobol")
        u = qmc.Sobol(d, scramble=True, **{_RNG_KEYWORD: rng}).random(h)
    return np.minimum(np.concatenate([u, 1.0 - u])[:m], _BELOW_ONE)


def lattice_uniforms(r: int, d: int) -> np.ndarray:
    """A fixed ``(r, d)`` Latin hypercube with no randomness (used with enumerated masks).

    Column ``j`` takes the stratum midpoints ``(t + 1/2) / r`` in the order of the
    ``j``-th coordinate of Roberts' R_d low-discrepancy sequence, so the columns are
    stratified and far from each other, and the design is the same on every run.
    """
    # phi_d is the root > 1 of x**(d+1) = x + 1; 30 fixed-point steps reach float precision.
    phi = 2.0
    for _ in range(30):
        phi = (1.0 + phi) ** (1.0 / (d + 1))
    alpha = (1.0 / phi) ** np.arange(1, d + 1)
    seq = (0.5 + np.arange(1, r + 1)[:, None] * alpha[None, :]) % 1.0
    ranks = np.argsort(np.argsort(seq, axis=0, kind="stable"), axis=0, kind="stable")
    return (ranks + 0.5) / r


def kernel_weights(dist2: np.ndarray, width: float) -> np.ndarray:
    """Exponential kernel ``exp(-D^2 / (2 width^2))`` of squared distances ``D^2``.

    This is the weight lime applies (it writes it ``sqrt(exp(-D^2 / width^2))``), so the
    same ``width`` gives the same locality.
    """
    return np.exp(-dist2 / (2.0 * width**2))


def mask_probabilities(Z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Probability of each mask ``Z (M, d)`` when feature ``j`` is present w.p. ``q[..., j]``.

    ``q`` of shape ``(n, d)`` gives ``(n, M)``; features are independent, as in LIME.
    """
    logq = np.log(q)
    log1q = np.log1p(-q)
    Zf = Z.astype(np.float64)
    return np.exp(logq @ Zf.T + log1q @ (1.0 - Zf).T)


def merge_duplicates(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique masks of each row with their counts, padded to a common length.

    Parameters
    ----------
    Z : bool ndarray (n, m, d)

    Returns
    -------
    unique : bool ndarray (n, M, d)
        Row ``i``'s distinct masks, then copies of its first one as padding.
    counts : ndarray (n, M)
        How many draws each mask stands for; 0 for padding.
    """
    parts = [np.unique(Zi, axis=0, return_counts=True) for Zi in Z]
    M = max(len(c) for _, c in parts)
    unique = np.empty((Z.shape[0], M, Z.shape[2]), dtype=bool)
    counts = np.zeros((Z.shape[0], M))
    for i, (u, c) in enumerate(parts):
        unique[i, : len(c)] = u
        unique[i, len(c) :] = u[0]
        counts[i, : len(c)] = c
    return unique, counts
