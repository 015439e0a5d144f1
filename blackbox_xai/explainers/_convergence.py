"""The stopping rule shared by the sampling Shapley estimators."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_tol(tol: Any) -> float | None:
    """Validate ``tol`` (None, or a positive finite number)."""
    if tol is None:
        return None
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)):
        raise TypeError(f"tol must be a number or None, got {type(tol).__name__}.")
    if not 0 < tol < np.inf:
        raise ValueError(f"tol must be positive and finite (e.g. 0.01), got {tol}.")
    return float(tol)


def converged(phi: np.ndarray, stderr: np.ndarray, tol: float) -> np.ndarray:
    """Rows ``(n,)`` whose every output has ``max_j SE_j <= tol * (max_j phi_j - min_j phi_j)``.

    Parameters
    ----------
    phi, stderr : arrays (n, d, k)
        Estimates and their standard errors.
    tol : float
        Largest standard error allowed, relative to the spread of the row's values.
    """
    spread = phi.max(axis=1) - phi.min(axis=1)
    return np.all(stderr.max(axis=1) <= tol * spread, axis=1)
