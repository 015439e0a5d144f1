"""Small-sample calibration of sampling standard errors: running central moments and a
second-order Edgeworth (Cornish-Fisher) widening of the studentized interval.

Permutation contributions of tree models and other piecewise-constant games are skewed
and multimodal (rare jumps). With a handful of pairs the sample variance then misses the
jumps exactly when the mean does, and ``estimate +- 1.96 SE`` covers far less than 95%.
The two-sided studentized-mean interval has coverage ``2 Phi(z) - 1 + (2/n) q2(z) phi(z)``
with ``q2(z) = z [kappa (z^2 - 3)/12 - gamma^2 (z^4 + 2 z^2 - 3)/18 - (z^2 + 3)/4]``
(skewness ``gamma``, excess kurtosis ``kappa``; Hall 1992, *The Bootstrap and Edgeworth
Expansion*, sections 2.6 and 3.5, for the SE with divisor ``n``; ours divides by
``n - 1``, which turns the last term into ``(z^2 + 1)/4``, the one of Student's ``t``), so
the critical value ``z - q2(z)/n`` restores 95% to order ``1/n``; we take the
normal-theory part exactly (Student's ``t_{n-1}``) and add the shape terms. The shape (``gamma^2``, ``kappa``) is scale free, so it is pooled over every
player and output of a row: a few pairs say little about one player's skewness, but a
row's players share the game's jumpiness (an empirical-Bayes-style sharing of shape, not
of scale). Standard errors are multiplied by ``(z - q2(z)/n) / z``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Two-sided 95% normal quantile: ``stderr`` is scaled so that +-Z95 * stderr is the
#: corrected interval.
Z95 = 1.959963984540054

#: Cells with a standard deviation below this fraction of the largest |mean| + sd of
#: their row and output are constant up to rounding and have no shape to pool.
_FLAT = 1e-9


def rescale_moments(moments: tuple[np.ndarray, ...], shift: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(count, mean, M2, M3, M4)`` of the samples times ``2**shift`` (``shift``
    broadcasting to the moments)."""
    count, mean, m2, m3, m4 = moments
    return (
        count,
        np.ldexp(mean, shift),
        np.ldexp(m2, 2 * shift),
        np.ldexp(m3, 3 * shift),
        np.ldexp(m4, 4 * shift),
    )


def batch_moments(
    samples: np.ndarray, hit: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and central sums ``M2, M3, M4`` over axis 1 of ``samples (r, q, ...)``.

    ``hit`` (broadcasting to ``samples``) selects the samples that count; the count has
    the shape of ``hit.sum(axis=1)`` (all of axis 1 without ``hit``).
    """
    if hit is None:
        count = np.full((samples.shape[0],) + (1,) * (samples.ndim - 2), samples.shape[1], float)
        mean = samples.mean(axis=1)
        dev = samples - mean[:, None]
    else:
        count = hit.sum(axis=1).astype(np.float64)
        mean = np.where(hit, samples, 0.0).sum(axis=1) / np.maximum(count, 1.0)
        dev = np.where(hit, samples - mean[:, None], 0.0)
    dev2 = dev**2
    return count, mean, dev2.sum(axis=1), (dev2 * dev).sum(axis=1), (dev2**2).sum(axis=1)


def merge_moments(
    old: tuple[np.ndarray, ...], new: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pool two sets ``(count, mean, M2, M3, M4)`` (Pebay 2008, pairwise update; Chan et
    al. for the mean and ``M2``). Empty sets (count 0) leave the other unchanged."""
    na, mean_a, m2a, m3a, m4a = old
    nb, mean_b, m2b, m3b, m4b = new
    n = na + nb
    safe = np.maximum(n, 1.0)
    delta = mean_b - mean_a
    share = nb / safe
    mean = mean_a + delta * share
    m2 = m2a + m2b + delta**2 * na * share
    m3 = (
        m3a
        + m3b
        + delta**3 * na * nb * (na - nb) / safe**2
        + 3 * delta * (na * m2b - nb * m2a) / safe
    )
    m4 = (
        m4a
        + m4b
        + delta**4 * na * nb * (na**2 - na * nb + nb**2) / safe**3
        + 6 * delta**2 * (na**2 * m2b + nb**2 * m2a) / safe**2
        + 4 * delta * (na * m3b - nb * m3a) / safe
    )
    return n, mean, m2, m3, m4


def pooled_shape(
    count: np.ndarray, mean: np.ndarray, m2: np.ndarray, m3: np.ndarray, m4: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (axis 0) averages of the squared skewness and the excess kurtosis over the
    cells that vary; 0 for a row whose cells are all constant (then every SE is 0).

    Cells of 2 or 3 samples carry no shape information (2 samples always give skewness
    0 and excess kurtosis -2, 3 always -1.5); they still enter the average, where their
    negative kurtosis widens the interval. So near the minimum budget (``"sample"`` with
    2-3 pairs per background row) the widening rests on Student's t and that term, and
    the pooled shape of per-background-row cells with ``n = nu + 1`` is a heuristic
    extension of the one-sample expansion.

    A cell is flat relative to its own output's largest ``|mean| + sd`` in the row (the
    last axis holds the outputs): outputs of very different sizes (or kept over different
    powers of two) do not make each other's cells look constant.
    """
    axes = tuple(range(1, m2.ndim))
    var = m2 / np.maximum(count, 1.0)
    sd = np.sqrt(var)
    scale = np.max(np.abs(mean) + sd, axis=axes[:-1], keepdims=True)
    varies = sd > _FLAT * scale
    safe = np.where(varies, var, 1.0)
    skew2 = np.where(varies, (m3 / np.maximum(count, 1.0)) ** 2 / safe**3, 0.0)
    kurt = np.where(varies, m4 / np.maximum(count, 1.0) / safe**2 - 3.0, 0.0)
    cells = np.maximum(varies.sum(axis=axes), 1)
    return skew2.sum(axis=axes) / cells, kurt.sum(axis=axes) / cells


def edgeworth_factor(n: np.ndarray, skew2: np.ndarray, kurt: np.ndarray) -> np.ndarray:
    """``(z - q2(z)/n) / z`` at ``z = Z95``: the widening of a plain ``+-z SE`` interval
    that gives 95% two-sided coverage to order ``1/n`` for a studentized mean of ``n``
    samples with squared skewness ``skew2`` and excess kurtosis ``kurt``.

    The standard error is the one with divisor ``n - 1``. The normal-theory part is taken
    exactly, Student's ``t_{n-1}`` quantile over ``z`` (its expansion is the ``(z^2 + 1)/4``
    term, too small at ``n = 8``), and the skewness and kurtosis terms of ``-q2/n`` are
    added to it. Never below 1: the expansion is not trusted to narrow.
    """
    z2 = Z95**2
    shape = skew2 * (z2**2 + 2 * z2 - 3) / 18 - kurt * (z2 - 3) / 12
    return np.maximum(stats.t.ppf(0.975, n - 1) / Z95 + shape / n, 1.0)
