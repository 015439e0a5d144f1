"""Interventional masking of tabular rows: absent features take background values."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..models.base import Model
from ..utils.config import budget_mb, check_budget_mb
from ..utils.formatting import Shown, plural, signature_repr
from ..utils.optional import is_dataframe
from ..utils.validation import check_array, feature_names_of
from ._columns import ColumnSchema
from .base import Masker

#: Background sizes above this are slow for every coalition; summarise them.
LARGE_BACKGROUND = 200

#: Tabular accepts NaN on request (models that handle missing values).
_NAN_HINT = "build the masker as bx.Tabular(background, allow_nan=True) to accept NaN"

GroupsLike = Mapping[str, Sequence[int | str]] | Sequence[Sequence[int | str]] | None


class Tabular(Masker):
    """Interventional tabular masker: ``v(S) = sum_b w_b f(x_S, b_~S)``.

    Parameters
    ----------
    background : array-like or DataFrame of shape (n_background, p)
        Rows that stand in for absent features.
    feature_names : sequence of str, optional
        Column names (taken from a DataFrame otherwise).
    groups : mapping of name -> columns, or sequence of column lists, optional
        Columns that enter and leave coalitions together (one-hot blocks,
        correlated features). Columns not named form singleton groups.
    weights : array-like of shape (n_background,), optional
        Background row weights (normalised to sum to one).
    summarize : {None, "kmeans", "sample"}
        Shrink the background to ``n_summary`` rows: k-means centres snapped to the
        nearest real row (weights = cluster sizes) or a random subset.
    n_summary : int
        Rows kept by ``summarize``.
    seed : int
        Seed of the summarisation.
    allow_nan : bool
        Accept NaN in background and explained rows (for models that handle it).
    memory_budget_mb : float, optional
        Largest model input built at once; model calls span rows and coalitions up to it.
        None: the ``"model_input"`` share of the package's budget (32 MiB of the default
        256, see :func:`blackbox_xai.set_config`), read at each call.

    Attributes
    ----------
    data : ndarray (n_background, p)
    weights : ndarray (n_background,)
    group_matrix : bool ndarray (n_players, p)
    """

    def __init__(
        self,
        background: Any,
        feature_names: Sequence[str] | None = None,
        groups: GroupsLike = None,
        weights: Any = None,
        summarize: str | None = None,
        n_summary: int = 100,
        seed: int = 0,
        allow_nan: bool = False,
        memory_budget_mb: float | None = None,
    ) -> None:
        self.columns: list[str] | None = (
            [str(c) for c in background.columns] if is_dataframe(background) else None
        )
        self.dtypes: list[Any] | None = (
            list(background.dtypes) if is_dataframe(background) else None
        )
        data = check_array(background, name="background", allow_nan=allow_nan, nan_hint=_NAN_HINT)
        self.feature_names = feature_names_of(background, data.shape[1], feature_names)
        self.schema = ColumnSchema(
            self.feature_names, known=self.columns is not None or feature_names is not None
        )
        self.allow_nan = allow_nan
        self.memory_budget_mb = (
            None if memory_budget_mb is None else check_budget_mb(memory_budget_mb)
        )
        w = self._check_weights(weights, data.shape[0])
        n_given = self._given_rows = data.shape[0]
        if summarize is not None:
            data, w = _summarize(data, w, summarize, n_summary, seed)
        elif data.shape[0] > LARGE_BACKGROUND:
            warnings.warn(
                f"the background has {data.shape[0]} rows; every coalition costs one model row "
                f"per background row. Pass summarize='kmeans' (or 'sample') to keep "
                f"{LARGE_BACKGROUND} or fewer.",
                UserWarning,
                stacklevel=2,
            )
        self.data = data
        self.weights = w
        self._named_players = groups is None
        self.player_names, self.group_matrix = _groups(groups, self.feature_names)
        self.n_players = len(self.player_names)
        # Kept for repr only: the parameters as given.
        self._given = {
            "background": Shown(f"<{n_given} rows x {data.shape[1]} columns>"),
            "feature_names": feature_names,
            "groups": groups,
            "weights": None if weights is None else Shown("<weights>"),
            "summarize": summarize,
            "n_summary": n_summary,
            "seed": seed,
        }

    def __repr__(self) -> str:
        shown = signature_repr(self, self._given)
        if self.data.shape[0] != self._given_rows:
            shown = shown[:-1] + f"; {plural(self.data.shape[0], 'background row')} kept)"
        return shown

    @property
    def n_features(self) -> int:
        """Number of input columns ``p``."""
        return self.data.shape[1]

    @staticmethod
    def _check_weights(weights: Any, n: int) -> np.ndarray:
        if weights is None:
            return np.full(n, 1.0 / n)
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(
                f"weights must be {n} finite non-negative numbers with a positive sum."
            )
        return w / w.sum()

    def validate(self, X: Any) -> np.ndarray:
        """Rows to explain as float64 ``(n, p)``, checked against the background.

        Parameters
        ----------
        X : array-like, DataFrame or Series of shape (n, p) or (p,)
            A DataFrame's columns (a Series' index) are matched by name to the feature
            names when those are known (a DataFrame background, ``feature_names``, or
            the model's names) and reordered; arrays are taken in the background's
            column order.

        Returns
        -------
        numpy.ndarray of shape (n, p)

        Raises
        ------
        ValueError
            If a DataFrame's or Series' names are not the feature names.
        """
        X = self.schema.align(X)
        return check_array(
            X, name="X", n_features=self.n_features, allow_nan=self.allow_nan, nan_hint=_NAN_HINT
        )

    def bind(self, model: Model) -> None:
        """Pass a DataFrame background's schema to the model; take the model's feature
        names when the background has none (a NumPy background of a DataFrame model)."""
        if self.columns is not None and self.dtypes is not None:
            model.bind_frame_schema(self.columns, self.dtypes)
        if not self.schema.known:
            self.schema.adopt(model.feature_names)
            if self.schema.known:
                self.feature_names = list(self.schema.names)
                if self._named_players:
                    self.player_names = list(self.schema.names)

    def feature_masks(self, Z: np.ndarray) -> np.ndarray:
        """Expand player coalitions to column masks.

        Parameters
        ----------
        Z : bool array of shape (..., d)

        Returns
        -------
        bool array of shape (..., p): True where the column takes the explained row's value.
        """
        Z = np.asarray(Z, dtype=bool)
        if Z.shape[-1] != self.n_players:
            raise ValueError(
                f"coalitions have {Z.shape[-1]} players, the masker has {self.n_players}."
            )
        if self.n_players == self.n_features and np.array_equal(
            self.group_matrix, np.eye(self.n_features, dtype=bool)
        ):
            return Z
        return (Z.astype(np.uint8) @ self.group_matrix.astype(np.uint8)) > 0

    def pairs_per_call(self, background_rows_per_pair: int | None = None) -> int:
        """How many (row, coalition) pairs one model call may hold within the memory budget.

        Parameters
        ----------
        background_rows_per_pair : int, optional
            Model rows each pair expands to: every background row (the default) for
            :meth:`coalition_values`, one for :meth:`one_background_values`.
        """
        n_bg = self.data.shape[0] if background_rows_per_pair is None else background_rows_per_pair
        bytes_per_pair = 8 * self.n_features * n_bg * 2  # input + where() temp
        return max(
            1, int(budget_mb("model_input", self.memory_budget_mb) * 2**20) // bytes_per_pair
        )

    def coalition_values(self, model: Model, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Interventional values of coalitions ``Z`` for rows ``X``.

        One model call covers as many (row, coalition) pairs as the memory budget
        allows, across rows and coalitions.

        Parameters
        ----------
        model : Model
        X : ndarray of shape (n, p)
            Validated rows (see :meth:`validate`).
        Z : bool ndarray of shape (m, d) shared by all rows, or (n, m, d)

        Returns
        -------
        ndarray of shape (n, m, k): ``sum_b w_b f(x_S, b_~S)`` per row and coalition.
        """
        X = np.asarray(X, dtype=np.float64)
        Z = np.asarray(Z, dtype=bool)
        n = X.shape[0]
        shared = Z.ndim == 2
        if not shared and (Z.ndim != 3 or Z.shape[0] != n):
            raise ValueError(f"Z must have shape (m, d) or (n, m, d) with n={n}; got {Z.shape}.")
        m = Z.shape[-2]
        masks = self.feature_masks(Z)
        B, w = self.data, self.weights
        n_bg = B.shape[0]
        total = n * m
        step = self.pairs_per_call()
        out: np.ndarray | None = None
        for start in range(0, total, step):
            idx = np.arange(start, min(total, start + step))
            rows, coals = np.divmod(idx, m)
            mask = masks[coals] if shared else masks[rows, coals]
            # A full coalition's inputs are n_bg copies of x: one model row gives its
            # value exactly (an average of equal numbers need not round back to them).
            full = mask.all(axis=1)
            part = ~full
            inputs = np.where(mask[part, None, :], X[rows[part]][:, None, :], B[None, :, :])
            pred = model(np.concatenate([inputs.reshape(-1, self.n_features), X[rows[full]]]))
            k = pred.shape[1]
            if out is None:
                out = np.empty((total, k))
            # Not tensordot: BLAS blocking depends on the batch size, and a row's value
            # must not depend on which rows share its call (n_jobs, chunking).
            block = pred[: part.sum() * n_bg].reshape(-1, n_bg, k)
            out[idx[part]] = (block * w[None, :, None]).sum(axis=1)
            out[idx[full]] = pred[part.sum() * n_bg :]
        if out is None:  # no rows or no coalitions: nothing to evaluate
            return np.empty((n, m, model.n_outputs or 0))
        return out.reshape(n, m, -1)

    def one_background_values(
        self, model: Model, X: np.ndarray, Z: np.ndarray, background_rows: np.ndarray
    ) -> np.ndarray:
        """Values ``(n, m, k)`` of coalitions with one background row each.

        Coalition ``(i, c)`` is ``f(x_i on S, background[background_rows[i, c]] elsewhere)``:
        one model row per coalition instead of one per background row (the classic
        Strumbelj-Kononenko sampling estimator). Calls are cut to the memory budget.

        Parameters
        ----------
        model : Model
        X : ndarray of shape (n, p)
            Validated rows.
        Z : bool ndarray of shape (n, m, d), or (m, d) shared by all rows
        background_rows : int array of shape (n, m), or (m,) with a shared ``Z``
            Index of the background row filling the absent features of each coalition.

        Notes
        -----
        Shared coalitions go to the model coalition by coalition, all rows together:
        neighbouring inputs then share their background part, which tree ensembles
        predict markedly faster (branch prediction). Each value is built from its own
        inputs only, so neither the order nor the memory budget changes it.
        """
        X = np.asarray(X, dtype=np.float64)
        masks = self.feature_masks(Z)
        background_rows = np.asarray(background_rows)
        if background_rows.dtype.kind not in "iu":
            raise TypeError(
                f"background_rows must be integer indices into the background, got dtype "
                f"{background_rows.dtype}."
            )
        n, p = X.shape[0], self.n_features
        shared = masks.ndim == 2 and background_rows.shape == masks.shape[:1]
        per_row = (
            masks.ndim == 3 and masks.shape[0] == n and background_rows.shape == masks.shape[:2]
        )
        if not (shared or per_row):
            raise ValueError(
                f"Z must have shape (n, m, d) and background_rows (n, m) with n={n}, or "
                f"Z (m, d) and background_rows (m,); got {np.shape(Z)} and "
                f"{np.shape(background_rows)}."
            )
        m = masks.shape[-2]
        step = self.pairs_per_call(background_rows_per_pair=1)
        parts = []
        if shared:
            per_call = max(1, step // max(n, 1))  # coalitions per call (all rows each)
            for first in range(0, m if n else 0, per_call):
                sl = slice(first, first + per_call)
                # Background rows gathered per call: all at once would hold p floats per
                # coalition, outside the memory budget.
                filled = self.data[background_rows[sl]]
                out = model(np.where(masks[sl, None], X[None], filled[:, None]).reshape(-1, p))
                parts.append(out.reshape(-1, n, out.shape[1]))
            if not parts:
                return np.empty((n, m, model.n_outputs or 0))
            return np.concatenate(parts).transpose(1, 0, 2)
        rows, coals = np.divmod(np.arange(n * m), m)
        for start in range(0, n * m, step):
            r, c = rows[start : start + step], coals[start : start + step]
            parts.append(model(np.where(masks[r, c], X[r], self.data[background_rows[r, c]])))
        if not parts:
            return np.empty((n, m, model.n_outputs or 0))
        return np.concatenate(parts).reshape(n, m, -1)


def _summarize(
    data: np.ndarray, w: np.ndarray, how: str, n_summary: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if how not in ("kmeans", "sample"):
        raise ValueError(f"summarize must be None, 'kmeans' or 'sample', got {how!r}.")
    if n_summary < 1:
        raise ValueError(f"n_summary must be >= 1, got {n_summary}.")
    if np.count_nonzero(w) <= n_summary:
        keep = w > 0
        return data[keep], w[keep] / w[keep].sum()
    rng = np.random.default_rng(seed)
    if how == "sample":
        idx = np.sort(rng.choice(data.shape[0], size=n_summary, replace=False, p=w))
        return data[idx], np.full(n_summary, 1.0 / n_summary)
    from sklearn.cluster import KMeans
    from sklearn.metrics import pairwise_distances_argmin

    # Columns divided by their largest magnitude first: the standard deviation of values
    # near 1e300 overflows to inf, and every row would then collapse into one cluster.
    peak = np.abs(data).max(axis=0)
    peak[peak == 0] = 1.0
    unit = data / peak
    scale = unit.std(axis=0)
    scale[scale == 0] = 1.0
    unit /= scale
    km = KMeans(n_clusters=n_summary, n_init=4, random_state=int(rng.integers(2**31 - 1)))
    km.fit(unit, sample_weight=w)
    # Snap each centre to its nearest real row so the model never sees impossible inputs.
    nearest = pairwise_distances_argmin(km.cluster_centers_, unit)
    weights = np.bincount(km.labels_, weights=w, minlength=n_summary)
    keep = weights > 0
    return data[nearest[keep]], weights[keep] / weights[keep].sum()


def _groups(groups: GroupsLike, names: list[str]) -> tuple[list[str], np.ndarray]:
    p = len(names)
    if groups is None:
        return list(names), np.eye(p, dtype=bool)
    if isinstance(groups, Mapping):
        items: list[tuple[str | None, list[int | str]]] = [
            (str(k), list(v)) for k, v in groups.items()
        ]
    else:
        items = [(None, list(g)) for g in groups]
    index = {n: j for j, n in enumerate(names)}
    owner = np.full(p, -1)
    players: list[tuple[str, list[int]]] = []
    for label, members in items:
        if not members:
            raise ValueError("feature groups must not be empty.")
        cols = []
        for m in members:
            if isinstance(m, str):
                if m not in index:
                    raise ValueError(
                        f"group member {m!r} is not a feature name; names are {names}."
                    )
                cols.append(index[m])
            elif isinstance(m, (int, np.integer)) and 0 <= m < p:
                cols.append(int(m))
            else:
                raise ValueError(f"group member {m!r} is not a column index in [0, {p}).")
        if len(set(cols)) != len(cols):
            raise ValueError(f"feature group {members} lists a column twice.")
        for c in cols:
            if owner[c] >= 0:
                raise ValueError(f"feature {names[c]!r} is in more than one group.")
            owner[c] = len(players)
        players.append((label or "+".join(names[c] for c in sorted(cols)), cols))
    # Columns not in a group are players of their own, kept in column order.
    ordered: list[tuple[str, list[int]]] = []
    seen: set[int] = set()
    for j in range(p):
        if owner[j] < 0:
            ordered.append((names[j], [j]))
        elif owner[j] not in seen:
            seen.add(int(owner[j]))
            ordered.append(players[owner[j]])
    matrix = np.zeros((len(ordered), p), dtype=bool)
    for i, (_, cols) in enumerate(ordered):
        matrix[i, cols] = True
    return [label for label, _ in ordered], matrix
