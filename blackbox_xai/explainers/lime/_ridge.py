"""Weighted ridge regression with standard errors from independent replicates: LIME's surrogate.

Hand-written rather than ``sklearn.linear_model.Ridge`` because LIME needs, per explained
row, several outputs at once, the intercept left unpenalised, standard errors of the
coefficients (sklearn gives none) and fits on feature subsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...utils.scaling import peak_exponents


@dataclass(frozen=True)
class RidgeFit:
    """A fitted weighted ridge regression.

    Attributes
    ----------
    coef : ndarray (d, k)
    intercept : ndarray (k,)
    stderr : ndarray (d, k)
        Standard errors of ``coef`` over the random draw of the rows, from the spread
        between independent replicates of the draw; zero when the rows are not random.
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
    # R^2 is scale free; per output over a power of two (exact) the squares of outputs
    # near 1e300 do not overflow into a "perfect" fit.
    exponent = peak_exponents(y, axis=0)
    y, pred = np.ldexp(y, -exponent), np.ldexp(pred, -exponent)
    W = w.sum()
    mean = w @ y / W
    tss = w @ (y - mean) ** 2
    rss = w @ (y - pred) ** 2
    exact = rss <= 1e-12 * np.maximum(1.0, w @ y**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(tss > 0, 1.0 - rss / np.where(tss > 0, tss, 1.0), 0.0)
    return np.where(exact, 1.0, r2)


def weighted_ridge(
    F: np.ndarray, Y: np.ndarray, w: np.ndarray, alpha: float, parts: np.ndarray | None = None
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
    parts : ndarray (m, R), optional
        For rows drawn at random: ``parts[i, g]`` is the share of ``w_i`` that comes
        from independent replicate ``g`` of the draw (rows sum to ``w``). Draws within
        a replicate may be dependent (quasi-random, stratified); replicates must be
        independent and alike. None for rows that were not drawn (standard errors 0).

    Returns
    -------
    RidgeFit

    Notes
    -----
    The estimate solves ``sum_g s_g(beta) = alpha beta`` with replicate scores
    ``s_g = sum_i parts[i, g] (y_i - b - F_i beta) F_i``; linearising, ``Var(beta) =
    A^-1 Var(sum_g s_g) A^-1`` with ``A = F_c^T W F_c + alpha I``, and the independent
    replicates estimate ``Var(sum_g s_g)`` by ``R/(R-1) sum_g (s_g - W_g/W s)(...)^T``
    (cluster-robust sandwich, each replicate a cluster; ``W_g`` its weight, ``s`` the
    sum of the scores). It needs no independence between the draws of a replicate.
    """
    d = F.shape[1]
    # The fit is linear in each output: over a power of two per output (exact), so that
    # squared residuals of outputs near 1e300 neither overflow nor turn into a "perfect"
    # fit, nor those of an ordinary output beside them underflow.
    exponent = peak_exponents(Y, axis=0)
    Y = np.ldexp(Y, -exponent)
    W = w.sum()
    f_mean = w @ F / W
    y_mean = w @ Y / W
    Fc = F - f_mean
    Yc = Y - y_mean
    wF = Fc * w[:, None]
    # pinv, not solve: with alpha=0 a feature the draws never changed leaves A singular,
    # and its coefficient is then 0 (minimum norm) instead of an error.
    A_inv = np.linalg.pinv(Fc.T @ wF + alpha * np.eye(d), hermitian=True)
    coef = A_inv @ (wF.T @ Yc)
    stderr = np.zeros((d, Y.shape[1]))
    if parts is not None:
        R = parts.shape[1]
        share = parts.sum(axis=0) / W
        resid = Yc - Fc @ coef
        for o in range(Y.shape[1]):
            scores = parts.T @ (Fc * resid[:, o, None])  # (R, d)
            scores -= share[:, None] * scores.sum(axis=0)
            spread = A_inv @ scores.T  # (d, R)
            var = (spread**2).sum(axis=1) * (R / (R - 1) if R > 1 else np.inf)
            stderr[:, o] = np.sqrt(var)
    intercept = y_mean - f_mean @ coef
    r2 = weighted_r2(Y, F @ coef + intercept, w)
    coef, stderr = np.ldexp(coef, exponent), np.ldexp(stderr, exponent)
    intercept = np.ldexp(intercept, exponent[0])
    return RidgeFit(coef=coef, intercept=intercept, stderr=stderr, r2=r2)
