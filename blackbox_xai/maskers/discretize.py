"""Quantile bins of tabular features: the interpretable features of LIME and Anchors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils.validation import check_array, feature_names_of

_QUANTILES = {"quartile": (0.25, 0.5, 0.75), "decile": tuple(np.arange(1, 10) / 10)}


class QuantileBins:
    """Per-feature bins with edges at training-data quantiles.

    Tied quantiles (e.g. a feature that is mostly zero) are merged, so no bin is
    empty by construction; a feature with one distinct value gets a single bin.
    Categorical features are binned by equality: one bin per value seen.

    Parameters
    ----------
    data : array-like (n, p)
        Training rows.
    method : {"quartile", "decile"} or sequence of floats
        Quantile levels in (0, 1) of the inner edges.
    categorical : sequence of int, optional
        Columns compared by equality.
    feature_names : sequence of str, optional

    Attributes
    ----------
    edges_ : list of ndarray
        Inner edges of each numeric feature; bin ``b`` is ``edges[b-1] < x <= edges[b]``.
    categories_ : dict of int -> ndarray
        Values of each categorical feature; bin ``b`` is ``x == categories[b]``.
    n_bins_ : ndarray of int (p,)
    """

    def __init__(
        self,
        data: Any,
        method: str | Sequence[float] = "quartile",
        categorical: Sequence[int] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        X = check_array(data, name="data")
        self.feature_names = feature_names_of(data, X.shape[1], feature_names)
        levels = _QUANTILES.get(method) if isinstance(method, str) else tuple(method)
        if levels is None or not all(0 < q < 1 for q in levels):
            raise ValueError(
                f"method must be 'quartile', 'decile' or quantile levels in (0, 1); got {method!r}."
            )
        self.categorical = sorted({int(c) for c in (categorical or [])})
        if any(not 0 <= c < X.shape[1] for c in self.categorical):
            raise ValueError(
                f"categorical columns must be in [0, {X.shape[1]}); got {self.categorical}."
            )
        self.edges_: list[np.ndarray] = []
        self.categories_: dict[int, np.ndarray] = {}
        for j in range(X.shape[1]):
            if j in self.categorical:
                self.categories_[j] = np.unique(X[:, j])
                self.edges_.append(np.empty(0))
            else:
                edges = np.unique(np.quantile(X[:, j], levels))
                # An edge at the maximum would leave the top bin empty.
                self.edges_.append(edges[edges < X[:, j].max()])
        self.n_bins_ = np.array(
            [
                len(self.categories_[j]) if j in self.categories_ else len(e) + 1
                for j, e in enumerate(self.edges_)
            ]
        )

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.edges_)

    def transform(self, X: Any) -> np.ndarray:
        """Bin index of every value, int array like ``X``.

        Raises
        ------
        ValueError
            If a categorical value was not seen in the training data.
        """
        X = check_array(X, name="X", n_features=self.n_features)
        out = np.empty(X.shape, dtype=np.int64)
        for j, edges in enumerate(self.edges_):
            if j in self.categories_:
                cats = self.categories_[j]
                pos = np.searchsorted(cats, X[:, j]).clip(0, len(cats) - 1)
                unseen = cats[pos] != X[:, j]
                if unseen.any():
                    raise ValueError(
                        f"categorical feature {self.feature_names[j]!r} has value {float(X[unseen, j][0])!r}, "
                        f"not seen in the training data (seen: {cats.tolist()})."
                    )
                out[:, j] = pos
            else:
                out[:, j] = np.searchsorted(edges, X[:, j], side="left")
        return out

    def describe(self, j: int, b: int, fmt: str = ".4g") -> str:
        """Readable predicate of bin ``b`` of feature ``j``, e.g. ``"worst radius <= 13.2"``."""
        return self.describe_range(j, b, b, fmt)

    def describe_range(self, j: int, lo: int, hi: int, fmt: str = ".4g") -> str:
        """Readable predicate of bins ``lo..hi`` (inclusive) of feature ``j``.

        Open ends are left out: bins ``0..b`` of a numeric feature read
        ``"name <= edge"``, bins ``b..last`` read ``"name > edge"``. A categorical
        feature takes a single value, so ``lo`` must equal ``hi`` there.
        """
        name = self.feature_names[j]
        if not 0 <= lo <= hi < self.n_bins_[j]:
            raise ValueError(
                f"bins {lo}..{hi} are not a range of the {self.n_bins_[j]} bins of {name!r}."
            )
        if j in self.categories_:
            if lo != hi:
                raise ValueError(f"categorical feature {name!r} takes one value, not a range.")
            return f"{name} = {self.categories_[j][lo]:{fmt}}"
        edges = self.edges_[j]
        if lo == 0 and hi == len(edges):
            return f"{name} = any"
        if lo == 0:
            return f"{name} <= {edges[hi]:{fmt}}"
        if hi == len(edges):
            return f"{name} > {edges[lo - 1]:{fmt}}"
        return f"{edges[lo - 1]:{fmt}} < {name} <= {edges[hi]:{fmt}}"
