"""Sample designs of LIME: independently scrambled Sobol' sets, masks and their weights."""

from __future__ import annotations

import inspect
import warnings
from math import log2

import numpy as np
from scipy.stats import qmc

#: Most dimensions scipy's Sobol' generator supports.
_SOBOL_MAX_DIM = 21201

#: scipy >= 1.15 names the generator argument ``rng`` (``seed`` before).
_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"

#: Bits of the Sobol' points: they are integers / 2**_BITS (scipy's default), so a random
#: digital shift is an XOR of those integers.
_BITS = 30

#: About how many independent scrambles make up a set of draws: their spread gives the
#: standard errors. More of them give steadier errors but larger ones: each scramble is
#: smaller, and a Sobol' set's accuracy grows faster than its size.
N_SCRAMBLES = 8


def scramble_sizes(m: int) -> np.ndarray:
    """How ``m`` draws split into independently scrambled Sobol' sets.

    Sets of ``2**k`` points with ``k = round(log2(m / N_SCRAMBLES))`` (Sobol' points are
    balanced at powers of two; other sizes measured larger errors), then the remainder
    as one smaller set: 6 to 12 sets for ``m >= 48``, so the standard errors have at
    least 5 degrees of freedom.
    """
    size = 1 << max(0, round(log2(max(1.0, m / N_SCRAMBLES))))
    sizes = [size] * (m // size)
    return np.array([*sizes, m % size] if m % size else sizes, dtype=np.int64)


def scrambled_sobol(rng: np.random.Generator, sizes: np.ndarray, d: int) -> np.ndarray:
    """One scrambled Sobol' set per size, as integers ``(sum(sizes), d)`` in ``[0, 2**30)``.

    Randomised quasi-Monte Carlo: each scrambled point is uniform, yet a set stratifies
    every axis-aligned box far better than independent or Latin-hypercube draws. Masks
    ("``u_j`` falls in ``x``'s bin") and tree models are unions of such boxes, so the
    coefficients vary less from seed to seed. Building a set costs milliseconds, so it
    is built once per call; ``shifted_uniforms`` then randomises it for each row.
    """
    if d > _SOBOL_MAX_DIM:
        raise ValueError(
            f"LIME's quasi-random design handles up to {_SOBOL_MAX_DIM} interpretable "
            f"features, got {d}; group features (fewer players) first."
        )
    with warnings.catch_warnings():
        # The remainder set is not a power of two: still uniform and low-discrepancy,
        # only the exact balance of power-of-two sizes is lost.
        warnings.filterwarnings("ignore", message="The balance properties of Sobol")
        parts = [
            qmc.Sobol(d, scramble=True, bits=_BITS, **{_RNG_KEYWORD: rng}).random(n) for n in sizes
        ]
    return np.rint(np.concatenate(parts) * 2.0**_BITS).astype(np.int64)


def shifted_uniforms(base: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniforms ``(sum(sizes), d)`` in ``[0, 1)``: each set of ``base`` with its own random digital shift.

    A digital shift (XOR with random bits) keeps a Sobol' set's stratification and, on
    top of scipy's scrambling (a random linear scramble and a digital shift), gives a
    set distributed exactly as a freshly scrambled one. The sets of a row get
    independent shifts, so they are independent replicates whose spread measures the
    error; rows get independent shifts too, so their errors are uncorrelated.
    """
    shifts = rng.integers(0, 2**_BITS, size=(len(sizes), base.shape[1]))
    return (base ^ np.repeat(shifts, sizes, axis=0)) * 2.0**-_BITS


def scramble_labels(sizes: np.ndarray) -> np.ndarray:
    """The scramble of each draw ``(sum(sizes),)``, for draws laid out as ``scrambled_uniforms``."""
    return np.repeat(np.arange(len(sizes)), sizes)


def kernel_weights(dist2: np.ndarray, width: float) -> np.ndarray:
    """Exponential kernel ``exp(-D^2 / (2 width^2))`` of squared distances ``D^2``.

    This is the weight lime applies (it writes it ``sqrt(exp(-D^2 / width^2))``), so the
    same ``width`` gives the same locality.
    """
    return np.exp(-dist2 / (2.0 * width**2))


def mask_probabilities(Z: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Probability of each mask ``Z (M, d)`` when feature ``j`` is present w.p. ``q[..., j]``.

    ``q`` of shape ``(n, d)`` gives ``(n, M)``; features are independent, as in LIME.
    A feature that is always (``q = 1``) or never (``q = 0``) present gives its masks
    probability 0 or leaves them unchanged, with no ``0 * log(0)`` NaN.
    """
    Zf = Z.astype(np.float64)
    with np.errstate(divide="ignore"):
        logq, log1q = np.log(q), np.log1p(-q)
    impossible = (q == 0) @ Zf.T + (q == 1) @ (1.0 - Zf).T > 0
    log_prob = np.where(q > 0, logq, 0.0) @ Zf.T + np.where(q < 1, log1q, 0.0) @ (1.0 - Zf).T
    return np.where(impossible, 0.0, np.exp(log_prob))


def merge_duplicates(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique masks of each row, padded to a common length, and where each draw went.

    Parameters
    ----------
    Z : bool ndarray (n, m, d)

    Returns
    -------
    unique : bool ndarray (n, M, d)
        Row ``i``'s distinct masks, then copies of its first one as padding.
    index : int ndarray (n, m)
        Position in ``unique[i]`` of each draw ``Z[i, t]``; padding is never pointed to.
    """
    parts = [np.unique(Zi, axis=0, return_inverse=True) for Zi in Z]
    M = max(len(u) for u, _ in parts)
    unique = np.empty((Z.shape[0], M, Z.shape[2]), dtype=bool)
    index = np.empty(Z.shape[:2], dtype=np.int64)
    for i, (u, inverse) in enumerate(parts):
        unique[i, : len(u)] = u
        unique[i, len(u) :] = u[0]
        index[i] = inverse.ravel()
    return unique, index
