"""A global summary of attributions, streamed partition by partition, never collected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils.messages import warn_user
from ..utils.optional import import_optional, is_dataframe
from ._sketch import MAX_MAGNITUDE, LogSketch

#: Quantile levels reported by default.
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


class _Partial:
    """What one partition contributes: sums for the means, bucket counts for quantiles."""

    def __init__(self, n_columns: int, relative_accuracy: float) -> None:
        self.n = 0
        self.sum_abs = np.zeros(n_columns)
        self.sum = np.zeros(n_columns)
        self.sketch = LogSketch(n_columns, relative_accuracy)

    def add(self, values: np.ndarray) -> _Partial:
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        if not np.isfinite(values).all():
            raise ValueError("attributions must be finite to be summarised (found NaN or inf).")
        self.n += len(values)
        self.sum_abs += np.abs(values).sum(axis=0)
        self.sum += values.sum(axis=0)
        self.sketch.add(values)
        return self

    def merge(self, other: _Partial) -> _Partial:
        out = _Partial(len(self.sum), self.sketch.relative_accuracy)
        out.n = self.n + other.n
        out.sum_abs, out.sum = self.sum_abs + other.sum_abs, self.sum + other.sum
        out.sketch = self.sketch.merge(other.sketch)
        return out


def _partial_of(block: Any, n_columns: int, relative_accuracy: float) -> _Partial:
    values = block.to_numpy() if is_dataframe(block) else np.asarray(block)
    return _Partial(n_columns, relative_accuracy).add(values)


def _merged(*parts: _Partial) -> _Partial:
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out


class AttributionSummary:
    """Global summary of attributions over many rows.

    Attributes
    ----------
    n_rows : int
        Rows summarised.
    mean_abs : ndarray (d, k)
        Mean absolute attribution of each feature to each output (global importance).
    mean : ndarray (d, k)
        Mean attribution.
    quantiles : ndarray (len(levels), d, k)
        Per-feature quantiles of the attributions, estimated: each is within
        ``relative_accuracy * |x_r|`` of the exact order statistic ``x_r`` of rank
        ``floor(q * (n - 1))`` (numpy's ``method="lower"``), or within 1e-12 of it
        when ``|x_r| <= 1e-12``, as long as no value exceeds 1e12 in magnitude
        (``n_clipped`` counts those).
    levels : ndarray
        The quantile levels.
    feature_names, output_names : list of str
    relative_accuracy : float
    n_clipped : int
    """

    def __init__(
        self,
        part: _Partial,
        shape: tuple[int, int],
        levels: np.ndarray,
        feature_names: Sequence[str],
        output_names: Sequence[str],
    ) -> None:
        d, k = shape
        n = max(part.n, 1)
        self.n_rows = part.n
        self.mean_abs = (part.sum_abs / n).reshape(d, k)
        self.mean = (part.sum / n).reshape(d, k)
        self.levels = np.asarray(levels, dtype=np.float64)
        self.quantiles = part.sketch.quantiles(self.levels).reshape(len(levels), d, k)
        self.relative_accuracy = part.sketch.relative_accuracy
        self.n_clipped = part.sketch.n_clipped
        self.feature_names = list(feature_names)
        self.output_names = list(output_names)

    def to_frame(self, output: int | str = 0) -> Any:
        """A pandas DataFrame for one output: a row per feature, by decreasing ``mean_abs``.

        Columns ``mean_abs``, ``mean`` and ``q0.05``... (one per level).
        """
        pd = import_optional("pandas")
        o = self.output_names.index(output) if isinstance(output, str) else int(output)
        frame = pd.DataFrame(
            {
                "mean_abs": self.mean_abs[:, o],
                "mean": self.mean[:, o],
                **{f"q{q:g}": self.quantiles[i, :, o] for i, q in enumerate(self.levels)},
            },
            index=pd.Index(self.feature_names, name="feature"),
        )
        return frame.sort_values("mean_abs", ascending=False)

    def __repr__(self) -> str:
        d, k = self.mean_abs.shape
        return f"AttributionSummary(n_rows={self.n_rows}, n_features={d}, n_outputs={k})"


def summarize_dask(
    values: Any,
    *,
    levels: Sequence[float] = LEVELS,
    relative_accuracy: float = 0.01,
    feature_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    split_every: int = 8,
) -> AttributionSummary:
    """Mean |value| and per-feature quantiles of attributions, computed where they lie.

    Each partition is reduced on its worker to sums and bucket counts (a few
    kilobytes per feature and output); these are merged in a tree and only the merged
    result reaches the client, so the rows are never collected. The counts merge
    exactly, so the quantiles do not depend on the partitioning; the means are sums in
    partition order (equal to a few ulps whatever the partitioning).

    Parameters
    ----------
    values : dask.array.Array (n, d, k) or (n, d), dask.dataframe.DataFrame, or ndarray
        Attributions, e.g. what :func:`explain_dask` returns (``returns="values"``).
        A DataFrame's columns are the features (one output).
    levels : sequence of float
        Quantile levels in [0, 1].
    relative_accuracy : float
        In (0, 0.5]: each quantile is within this fraction of the exact order
        statistic (see :class:`AttributionSummary`); the counts take
        ``2 * ln(1e24) / ln((1 + a) / (1 - a))`` buckets per column (2,764 at 0.01).
    feature_names, output_names : sequence of str, optional
        Names; from a DataFrame's columns, else ``x0, x1...`` and ``0, 1...``.
    split_every : int
        Partitions merged per step of the tree.

    Returns
    -------
    AttributionSummary
    """
    levels_arr = np.asarray(levels, dtype=np.float64)
    if levels_arr.ndim != 1 or not len(levels_arr) or np.any((levels_arr < 0) | (levels_arr > 1)):
        raise ValueError(
            f"levels must be a non-empty sequence of numbers in [0, 1], got {levels!r}."
        )
    if isinstance(relative_accuracy, bool) or not 0 < relative_accuracy <= 0.5:
        raise ValueError(
            f"relative_accuracy must be in (0, 0.5] (e.g. 0.01), got {relative_accuracy!r}."
        )
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}.")
    shape, blocks, names = _blocks(values)
    d, k = shape
    feature_names = list(feature_names or names or [f"x{j}" for j in range(d)])
    output_names = list(output_names or [str(i) for i in range(k)])
    if len(feature_names) != d or len(output_names) != k:
        raise ValueError(
            f"got {len(feature_names)} feature names and {len(output_names)} output names "
            f"for attributions of {d} features and {k} outputs."
        )
    if blocks is None:  # in memory
        part = _partial_of(values, d * k, relative_accuracy)
    else:
        dask = import_optional("dask")
        partial_of = dask.delayed(_partial_of, pure=True)
        merged = dask.delayed(_merged, pure=True)
        level = [partial_of(b, d * k, relative_accuracy) for b in blocks]
        while len(level) > 1:
            level = [merged(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
        (part,) = dask.compute(level[0])
    if part.sketch.n_clipped:
        warn_user(
            f"{part.sketch.n_clipped} attributions exceed {MAX_MAGNITUDE:g} in magnitude; "
            "they were counted in the largest bucket, so quantiles among them are too small."
        )
    return AttributionSummary(part, (d, k), levels_arr, feature_names, output_names)


def _blocks(values: Any) -> tuple[tuple[int, int], list[Any] | None, list[str] | None]:
    """``(d, k)``, the delayed blocks of rows (None for an ndarray), and column names."""
    if isinstance(values, np.ndarray):
        if values.ndim not in (2, 3):
            raise ValueError(f"attributions must be (n, d) or (n, d, k), got shape {values.shape}.")
        return (values.shape[1], values.shape[2] if values.ndim == 3 else 1), None, None
    dask_array = import_optional("dask.array")
    if isinstance(values, dask_array.Array):
        if values.ndim not in (2, 3):
            raise ValueError(
                f"attributions must be (n, d) or (n, d, k), got a Dask Array of shape {values.shape}."
            )
        whole = {axis: -1 for axis in range(1, values.ndim)}
        values = values.rechunk(whole)
        k = values.shape[2] if values.ndim == 3 else 1
        blocks = list(values.to_delayed().reshape(-1))
        return (values.shape[1], k), blocks, None
    if type(values).__name__ == "DataFrame" and hasattr(values, "to_delayed"):
        columns = [str(c) for c in values.columns]
        return (len(columns), 1), list(values.to_delayed()), columns
    raise TypeError(
        "values must be a Dask Array, a Dask DataFrame or a numpy array of attributions, "
        f"got {type(values).__name__}."
    )
