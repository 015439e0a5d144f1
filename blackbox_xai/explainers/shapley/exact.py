"""Exact Shapley values by enumerating every coalition."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from math import comb
from typing import Any

import numpy as np

from ...maskers import Masker
from ...models import Model
from ...results import Explanation
from ...sampling import all_coalitions
from ...utils.config import budget_mb
from ...utils.parallel import map_row_chunks
from .._instances import splits_instances
from ..base import Explainer

#: 2**20 coalitions per row is the most we enumerate; beyond that sample (KernelShap).
MAX_EXACT_PLAYERS = 20


def shapley_from_all_coalitions(v: np.ndarray, d: int) -> np.ndarray:
    """Shapley values from the values of all ``2**d`` coalitions.

    Parameters
    ----------
    v : array (n, 2**d, k)
        ``v[:, i]`` is the value of the coalition whose bitmask is ``i``.

    Returns
    -------
    array (n, d, k) with ``phi_j = sum_{S not containing j} |S|!(d-|S|-1)!/d! (v(S+j) - v(S))``.
    """
    codes = np.arange(2**d, dtype=np.int64)
    sizes = (
        np.bitwise_count(codes)
        if hasattr(np, "bitwise_count")
        else np.array([bin(c).count("1") for c in codes])
    )
    size_weight = np.array([1.0 / (d * comb(d - 1, s)) for s in range(d)])
    phi = np.empty((v.shape[0], d, v.shape[2]))
    for j in range(d):
        without = codes[(codes >> j) & 1 == 0]
        marginal = v[:, without | (1 << j)] - v[:, without]
        # An elementwise product and sum, not BLAS, so a row's value is independent of
        # how many rows are computed with it; summed along a contiguous last axis,
        # because numpy's order of summing a middle axis changes when there is one row.
        terms = marginal * size_weight[sizes[without]][None, :, None]
        phi[:, j] = np.ascontiguousarray(terms.transpose(0, 2, 1)).sum(axis=-1)
    return phi


def _exact_rows(
    masker: Masker,
    X: np.ndarray,
    d: int,
    model: Model,
    start: int,
    stop: int,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values and base values of rows ``start:stop`` (a module-level function so
    every joblib backend can pickle it); ``transform`` maps the game values first (a
    link)."""
    Z = all_coalitions(d)
    # Keep v (rows x 2**d x k) of one block within the masker's own memory budget per
    # output, else the "game_values" share of the shared budget (64 MiB by default).
    budget = int(budget_mb("game_values", getattr(masker, "memory_budget_mb", None)) * 2**20)
    rows_per_block = max(1, budget // (8 * 2**d))
    phis, bases = [], []
    for s in range(start, stop, rows_per_block):
        e = min(stop, s + rows_per_block)
        v = masker.coalition_values(model, X[s:e], Z)
        if transform is not None:
            v = transform(v)
        phis.append(shapley_from_all_coalitions(v, d))
        # A copy: the view v[:, 0] would keep the whole block (2**d values a row) alive
        # until the end, so memory would grow with the rows explained.
        bases.append(v[:, 0].copy())
    return np.concatenate(phis), np.concatenate(bases)


class ExactShapley(Explainer):
    """Exact interventional Shapley values by full enumeration of coalitions.

    The game is the masker's: for ``Tabular`` background data,
    ``v(S) = mean_b f(x_S, b_~S)``. All ``2**d`` coalitions of each row are evaluated,
    so this is for ``d <= 20`` players; use :class:`KernelShap` beyond.

    Parameters
    ----------
    model : model object
        Anything :func:`blackbox_xai.wrap` accepts.
    masker : Masker, array-like or DataFrame
        Background rows or a masker.
    n_jobs : int, optional
        joblib workers over row chunks.

    Examples
    --------
    >>> import numpy as np, blackbox_xai as bx
    >>> bg = np.zeros((1, 3)); f = lambda X: X @ np.array([1.0, 2.0, 3.0])
    >>> bx.ExactShapley(f, bg).explain(np.ones((1, 3))).values[0, :, 0]
    array([1., 2., 3.])
    """

    method = "exact_shapley"

    def __init__(self, model: Any, masker: Any, *, n_jobs: int | None = None) -> None:
        super().__init__(model, masker, seed=None, n_jobs=n_jobs)
        if not self.masker.per_instance:
            self._configure()

    def _configure(self) -> None:
        d = self.masker.n_players
        if d > MAX_EXACT_PLAYERS:
            raise ValueError(
                f"ExactShapley enumerates 2**d coalitions; d={d} players is more than "
                f"{MAX_EXACT_PLAYERS}. Use KernelShap (or group features) instead."
            )

    @splits_instances
    def explain(
        self, X: Any, *, chunk_size: int | None = None, progress: bool = False
    ) -> Explanation:
        """Shapley values of every output for the rows of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n, p)
            Rows to explain (validated by the masker).
        chunk_size : int, optional
            Rows per parallel task; the values do not depend on it.
        progress : bool
            Show a progress bar over the rows on stderr (needs tqdm); the values do
            not depend on it.

        Returns
        -------
        Explanation
            ``values (n, d, k)``, ``base_values (n, k) = v(empty)``.
        """
        X = self.masker.validate(X)
        d = self.masker.n_players
        work = partial(_exact_rows, self.masker, X, d)
        calls, rows = self.model.n_calls, self.model.n_rows
        parts = map_row_chunks(work, self.model, len(X), n_jobs=self.n_jobs, chunk_size=chunk_size)
        values = np.concatenate([p[0] for p in parts])
        base = np.concatenate([p[1] for p in parts])
        return Explanation(
            values,
            base,
            data=X,
            feature_names=self.masker.player_names,
            output_names=self.model.output_names,
            method=self.method,
            meta={
                "seed": None,
                "n_evals": [2**d] * len(X),
                "n_model_calls": self.model.n_calls - calls,
                "n_model_rows": self.model.n_rows - rows,
                "converged": [True] * len(X),
                "parameters": {"n_players": d},
            },
        )
