"""LIME's feature selection: which ``n_features`` interpretable features enter the surrogate."""

from __future__ import annotations

import numpy as np

SELECTIONS = ("auto", "forward", "highest_weights", "lasso_path", "none")

#: ``"auto"`` uses forward selection up to this many features, highest weights beyond
#: (forward selection costs one fit per candidate and step).
AUTO_FORWARD_MAX = 6


def select_features(
    F: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_features: int,
    method: str,
    alpha: float,
    f_instance: np.ndarray,
) -> np.ndarray:
    """Sorted indices of the ``n_features`` features chosen by ``method`` for output ``y``.

    Parameters
    ----------
    F : ndarray (m, d)
        Interpretable features of the samples.
    y : ndarray (m,)
        One model output.
    w : ndarray (m,)
        Sample weights.
    n_features : int
        How many to keep (all when ``>= d``).
    method : {"auto", "forward", "highest_weights", "lasso_path", "none"}
        ``"forward"``: greedily add the feature that most raises the weighted R^2;
        ``"highest_weights"``: largest ``|coef_j * F_instance_j|`` of the full ridge fit;
        ``"lasso_path"``: the last point of the weighted lasso path with at most
        ``n_features`` non-zero coefficients, filled up by highest weights when it has
        fewer (a constant output has no path at all); ``"auto"``: forward up to
        ``AUTO_FORWARD_MAX`` features, highest weights beyond; ``"none"``: all.
    alpha : float
        Ridge penalty of the fits inside forward selection and highest weights.
    f_instance : ndarray (d,)
        Interpretable features of the explained instance (ones for masks).
    """
    d = F.shape[1]
    if method == "none" or n_features >= d:
        return np.arange(d)
    if method == "auto":
        method = "forward" if n_features <= AUTO_FORWARD_MAX else "highest_weights"
    W = w.sum()
    Fc = F - w @ F / W
    yc = y - w @ y / W
    G = Fc.T @ (Fc * w[:, None])
    b = Fc.T @ (w * yc)
    if method == "forward":
        return _forward(G, b, alpha, n_features)
    coef = np.linalg.pinv(G + alpha * np.eye(d), hermitian=True) @ b
    by_weight = np.argsort(-np.abs(coef * f_instance), kind="stable")
    if method == "highest_weights":
        return np.sort(by_weight[:n_features])
    chosen = _lasso_path(Fc, yc, w, n_features)
    rest = by_weight[~np.isin(by_weight, chosen)][: n_features - len(chosen)]
    return np.sort(np.concatenate([chosen, rest]))


def _forward(G: np.ndarray, b: np.ndarray, alpha: float, n_features: int) -> np.ndarray:
    # Residual sum of squares of a ridge fit on S is tss - b_S^T (G_SS + aI)^-1 b_S
    # (up to the penalty term), so the best candidate maximises that explained part.
    chosen: list[int] = []
    for _ in range(n_features):
        best, best_gain = -1, -np.inf
        for j in range(G.shape[0]):
            if j in chosen:
                continue
            S = [*chosen, j]
            A = G[np.ix_(S, S)] + alpha * np.eye(len(S))
            gain = float(b[S] @ np.linalg.pinv(A, hermitian=True) @ b[S])
            if gain > best_gain:
                best, best_gain = j, gain
        chosen.append(best)
    return np.sort(np.asarray(chosen))


def _lasso_path(Fc: np.ndarray, yc: np.ndarray, w: np.ndarray, n_features: int) -> np.ndarray:
    from sklearn.linear_model import lars_path

    root = np.sqrt(w)
    _, _, coefs = lars_path(Fc * root[:, None], yc * root, method="lasso")
    n_active = (coefs != 0).sum(axis=0)
    last = int(np.flatnonzero(n_active <= n_features)[-1])
    return np.flatnonzero(coefs[:, last])
