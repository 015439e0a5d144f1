"""Scrambled Sobol' sets and their digital shifts: the quasi-random design of LIME's draws.

Shared by ``Lime`` (masks) and ``LimeTabular`` (values inside bins), so it lives below both.
"""

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
