"""Weighted ridge regression with sandwich standard errors: LIME's local surrogate.

Hand-written rather than ``sklearn.linear_model.Ridge`` because LIME needs, per explained
row, several outputs at once, the intercept left unpenalised, standard errors of the
coefficients (sklearn gives none) and fits on feature subsets from one Gram matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RidgeFit:
    """A fitted weighted ridge regression.

    Attributes
    ----------
    coef : ndarray (d, k)
    intercept : ndarray (k,)
    stderr : ndarray (d, k)
        Sandwich (heteroskedasticity-robust) standard errors of ``coef`` over the
        random draw of the rows; zero where the rows are not random (all masks).
    r2 : ndarray (k,)
        Weighted R^2 on the rows it was fitted to.
    """

    coef: np.ndarray
    intercept: np.ndarray
    stderr: np.ndarray
    r2: np.ndarray

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Surrogate predictions ``(m, k)`` for interpretable rows ``F (m, d)``."""
        return F @ self.coef + self.intercept


def weighted_r2(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted R^2 of ``pred`` for ``y`` (both ``(m, k)``), one value per output.

    An output that is constant under the weights has R^2 1 when it is predicted
    exactly and 0 otherwise (instead of a division by zero).
    """
    W = w.sum()
    mean = w @ y / W
    tss = w @ (y - mean) ** 2
    rss = w @ (y - pred) ** 2
    exact = rss <= 1e-12 * np.maximum(1.0, w @ y**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(tss > 0, 1.0 - rss / np.where(tss > 0, tss, 1.0), 0.0)
    return np.where(exact, 1.0, r2)


def weighted_ridge(
    F: np.ndarray,
    Y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    w2: np.ndarray | None = None,
    n_obs: int | None = None,
) -> RidgeFit:
    """Minimise ``sum_i w_i (y_i - b - F_i beta)^2 + alpha |beta|^2`` for every output.

    Parameters
    ----------
    F : ndarray (m, d)
        Interpretable features of the rows.
    Y : ndarray (m, k)
        Model outputs.
    w : ndarray (m,)
        Row weights (kernel weight times multiplicity); positive sum.
    alpha : float
        Ridge penalty on ``beta`` (not on the intercept ``b``).
    w2 : ndarray (m,), optional
        Sum of squared per-draw weights behind each row, for the standard errors:
        ``w**2`` when each row is one random draw (the default), ``count * kernel**2``
        for ``count`` merged identical draws, 0 for rows that were enumerated, not drawn.
    n_obs : int, optional
        Number of random draws behind the rows (default ``m``), for the small-sample
        factor ``n / (n - d - 1)`` of the standard errors.

    Returns
    -------
    RidgeFit
    """
    m, d = F.shape
    W = w.sum()
    f_mean = w @ F / W
    y_mean = w @ Y / W
    Fc = F - f_mean
    Yc = Y - y_mean
    wF = Fc * w[:, None]
    A = Fc.T @ wF + alpha * np.eye(d)
    # pinv, not solve: with alpha=0 a feature the draws never changed leaves A singular,
    # and its coefficient is then 0 (minimum norm) instead of an error.
    A_inv = np.linalg.pinv(A, hermitian=True)
    coef = A_inv @ (wF.T @ Yc)
    resid = Yc - Fc @ coef
    s2 = w**2 if w2 is None else w2
    n = m if n_obs is None else n_obs
    factor = n / (n - d - 1) if n > d + 1 else np.inf
    stderr = np.zeros((d, Y.shape[1]))
    if s2.any():
        # Sandwich: Var(beta) = A^-1 [sum_i s2_i r_i^2 f_i f_i^T] A^-1, one per output.
        for o in range(Y.shape[1]):
            meat = Fc.T @ (Fc * (s2 * resid[:, o] ** 2)[:, None])
            var = ((A_inv @ meat) * A_inv).sum(axis=1)
            stderr[:, o] = np.sqrt(np.clip(var, 0.0, None) * factor)
    intercept = y_mean - f_mean @ coef
    r2 = weighted_r2(Y, F @ coef + intercept, w)
    return RidgeFit(coef=coef, intercept=intercept, stderr=stderr, r2=r2)
