"""Quantile bins of tabular features: the interpretable features of LIME and Anchors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..utils.validation import check_array, feature_names_of

_QUANTILES = {"quartile": (0.25, 0.5, 0.75), "decile": tuple(np.arange(1, 10) / 10)}

#: Depth of the per-feature entropy tree of ``method="entropy"``: at most 2**3 = 8 bins.
ENTROPY_TREE_DEPTH = 3


def _check_labels(labels: Any, n: int) -> np.ndarray:
    if labels is None:
        raise ValueError(
            "method='entropy' places edges where the class changes, so it needs the class "
            "labels of the training rows: pass labels=y (or use 'quartile'/'decile')."
        )
    y = np.asarray(labels).ravel()
    if y.shape != (n,):
        raise ValueError(f"labels must have one entry per training row ({n}), got {y.shape[0]}.")
    return y


def _entropy_edges(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Split thresholds of an entropy tree predicting ``y`` from ``x`` alone, sorted."""
    from sklearn.tree import DecisionTreeClassifier

    # Deterministic: one feature, so the tree's random feature permutation is irrelevant.
    tree = DecisionTreeClassifier(criterion="entropy", max_depth=ENTROPY_TREE_DEPTH, random_state=0)
    tree.fit(x.reshape(-1, 1), y)
    return np.unique(tree.tree_.threshold[tree.tree_.feature >= 0])


def exact_labels(values: Iterable[float]) -> list[str]:
    """Category values printed exactly: whole numbers without a decimal point, others
    in their shortest round-trip form (``12346``, ``2.5``), never rounded: a category
    is a code, not a measurement."""
    return [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values]


def _below_max(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``edges`` with an edge at the maximum of ``x`` moved to the largest value below it.

    An edge at the maximum would leave the top bin empty; dropping it would merge the
    values tied at the maximum into the bin below, and a feature that is mostly at its
    maximum (a 0/1 feature with 80% ones) would end with one bin although it varies.
    Moving the edge makes the ties at the maximum the top bin, as ties at the minimum
    are the bottom bin.
    """
    top = x.max()
    inner = edges[edges < top]
    if len(inner) < len(edges) and (x < top).any():
        inner = np.unique(np.append(inner, x[x < top].max()))
    return inner


class QuantileBins:
    """Per-feature bins with edges at training-data quantiles (or entropy-tree splits).

    Tied quantiles (e.g. a feature that is mostly zero) are merged, so no bin is
    empty by construction; a feature with one distinct value gets a single bin.
    Categorical features are binned by equality: one bin per value seen.

    Parameters
    ----------
    data : array-like (n, p)
        Training rows.
    method : {"quartile", "decile", "entropy"} or sequence of floats
        Quantile levels in (0, 1) of the inner edges, or ``"entropy"``: the split
        thresholds of a depth-``ENTROPY_TREE_DEPTH`` entropy decision tree that predicts
        ``labels`` from the feature alone (at most 8 bins, edges where the class changes).
    categorical : sequence of int, optional
        Columns compared by equality.
    feature_names : sequence of str, optional
    labels : array-like (n,), optional
        Class labels of the training rows; required by ``method="entropy"``.

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
        labels: Any = None,
    ) -> None:
        X = check_array(data, name="data")
        self.feature_names = feature_names_of(data, X.shape[1], feature_names)
        y = _check_labels(labels, X.shape[0]) if method == "entropy" else None
        levels = _QUANTILES.get(method, ()) if isinstance(method, str) else tuple(method)
        if y is None and (not levels or not all(0 < q < 1 for q in levels)):
            raise ValueError(
                "method must be 'quartile', 'decile', 'entropy' or quantile levels in (0, 1); "
                f"got {method!r}."
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
                edges = (
                    _entropy_edges(X[:, j], y)
                    if y is not None
                    else np.unique(np.quantile(X[:, j], np.asarray(levels)))
                )
                self.edges_.append(_below_max(edges, X[:, j]))
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

    def describe_range(self, j: int, lo: int, hi: int, fmt: str = ".4g") -> str:
        """Readable predicate of bins ``lo..hi`` (inclusive) of feature ``j``.

        Open ends are left out: bins ``0..b`` of a numeric feature read
        ``"name <= edge"``, bins ``b..last`` read ``"name > edge"``. A categorical
        feature takes a single value, so ``lo`` must equal ``hi`` there. Numeric edges
        are formatted with ``fmt``; categorical values are printed exactly.
        """
        name = self.feature_names[j]
        if not 0 <= lo <= hi < self.n_bins_[j]:
            raise ValueError(
                f"bins {lo}..{hi} are not a range of the {self.n_bins_[j]} bins of {name!r}."
            )
        if j in self.categories_:
            if lo != hi:
                raise ValueError(f"categorical feature {name!r} takes one value, not a range.")
            return f"{name} = {exact_labels([self.categories_[j][lo]])[0]}"
        edges = self.edges_[j]
        if lo == 0 and hi == len(edges):
            return f"{name} = any"
        if lo == 0:
            return f"{name} <= {edges[hi]:{fmt}}"
        if hi == len(edges):
            return f"{name} > {edges[lo - 1]:{fmt}}"
        return f"{edges[lo - 1]:{fmt}} < {name} <= {edges[hi]:{fmt}}"
