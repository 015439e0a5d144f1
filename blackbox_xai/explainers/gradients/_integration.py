"""Path integrals of integrated gradients: quadrature rules and baselines."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage, special

from ...utils.seeding import row_rng
from ._space import ArraySpace, Space

QUADRATURES = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)


def quadrature(method: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] and weights of an ``n``-point rule (captum's definitions).

    Gauss-Legendre is exact for polynomials of degree ``2n - 1`` along the path; the
    Riemann sums use the left ends, right ends or middles of ``n`` equal steps, the
    trapezoid rule ``n`` equally spaced points including both ends.
    """
    if method == "gausslegendre":
        # scipy's rule (Golub-Welsch on the banded Jacobi matrix, asymptotic beyond 150
        # points) holds O(n) memory; numpy's leggauss builds an n x n companion matrix
        # (128 MiB at 4096 steps).
        nodes, weights = special.roots_legendre(n)
        return 0.5 * (nodes + 1.0), 0.5 * weights
    if method == "riemann_trapezoid":
        if n < 2:
            raise ValueError("riemann_trapezoid needs n_steps >= 2 (both ends of the path).")
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] = 0.5 / (n - 1)
        return np.linspace(0.0, 1.0, n), weights
    step = 1.0 / n
    starts = {"riemann_left": 0.0, "riemann_right": step, "riemann_middle": step / 2}
    return starts[method] + step * np.arange(n), np.full(n, step)


def baseline_values(
    baseline: Any, space: Space, x: np.ndarray, entropy: int | None, blur_sigma: float | None
) -> np.ndarray:
    """The baseline of each row in the space gradients are taken in, ``(n, *shape)``.

    Float inputs: a number, an array like one row or like ``X``, ``"blur"`` (the image
    Gaussian-blurred over its spatial axes), ``"uniform"`` (uniform noise over the row's
    range, one seeded draw per row) or a callable ``baseline(X) -> array``. Token ids: a
    token id (the padding token) or ids like one row or like ``X``; their embeddings are
    the baseline.
    """
    n = len(x)
    if not isinstance(space, ArraySpace):
        ids = baseline(space.X) if callable(baseline) else baseline
        if isinstance(ids, str) or np.asarray(ids).dtype.kind not in "iu":
            raise TypeError(
                "the baseline of a token-id model is a token id (e.g. the padding token's) "
                f"or token ids like X, got {baseline!r}."
            )
        arr = np.broadcast_to(np.asarray(ids, dtype=space.X.dtype), space.X.shape)
        return space.baseline_of(np.ascontiguousarray(arr))
    if isinstance(baseline, str):
        if baseline == "blur":
            return _blurred(x, blur_sigma)
        if baseline == "uniform":
            assert entropy is not None
            flat = x.reshape(n, -1)
            low, high = flat.min(axis=1), flat.max(axis=1)
            return np.stack(
                [row_rng(entropy, i).uniform(low[i], high[i], x.shape[1:]) for i in range(n)]
            )
        raise ValueError(
            f"baseline must be a number, an array, 'blur', 'uniform' or a callable, got {baseline!r}."
        )
    value = baseline(space.X) if callable(baseline) else baseline
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape not in ((), x.shape[1:], x.shape):
        raise ValueError(
            f"the baseline must be a number, shaped like one row {x.shape[1:]} or like X "
            f"{x.shape}; got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError("the baseline contains NaN or inf values.")
    return np.broadcast_to(arr, x.shape).copy()


def _blurred(x: np.ndarray, sigma: float | None) -> np.ndarray:
    """Images ``(n, C, *spatial)`` blurred over the spatial axes (sigma: 10% of the
    larger spatial size unless given, in pixels)."""
    if x.ndim < 4:
        raise ValueError(
            f"baseline='blur' needs images (n, C, H, W); X has shape {x.shape}: pass a number "
            "or an array instead."
        )
    spatial = x.shape[2:]
    s = 0.1 * max(spatial) if sigma is None else float(sigma)
    return np.asarray(ndimage.gaussian_filter(x, sigma=[0, 0, *[s] * len(spatial)], mode="nearest"))
