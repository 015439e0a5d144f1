"""A mergeable quantile sketch with relative accuracy: counts in log-spaced buckets.

Values are counted in buckets whose edges are powers of ``gamma = (1 + a) / (1 - a)``
(positive and negative values apart, tiny ones in a zero bucket), the construction of
DDSketch (Masson, Rim & Lee, VLDB 2019). The buckets do not depend on the data, so two
sketches merge by adding counts: the merged sketch is exactly the sketch of all the
values, whatever the partitioning and the order of merging. Reading the bucket that
holds the order statistic of rank ``r`` and returning its midpoint (in relative terms)
gives a value within ``a * |x_r|`` of ``x_r``.

Not the ``ddsketch`` package: it adds values one at a time in Python (millions of
attributions per partition), and here one ``bincount`` counts a whole block.
"""

from __future__ import annotations

import numpy as np

#: Values of magnitude below this count as zero (estimate 0, absolute error below it).
ZERO_THRESHOLD = 1e-12
#: Values of larger magnitude are counted in the last bucket (and reported as clipped).
MAX_MAGNITUDE = 1e12


class LogSketch:
    """Bucket counts of ``c`` columns of values.

    Parameters
    ----------
    n_columns : int
        Columns summarised side by side.
    relative_accuracy : float
        ``a`` in (0, 1): every quantile is within ``a * |x_r|`` of the exact order
        statistic ``x_r`` (or within :data:`ZERO_THRESHOLD` of it when ``|x_r|`` is
        below that).
    """

    def __init__(self, n_columns: int, relative_accuracy: float) -> None:
        self.n_columns = n_columns
        self.relative_accuracy = relative_accuracy
        self.log_gamma = float(np.log1p(relative_accuracy) - np.log1p(-relative_accuracy))
        self.low = int(np.ceil(np.log(ZERO_THRESHOLD) / self.log_gamma))
        self.high = int(np.ceil(np.log(MAX_MAGNITUDE) / self.log_gamma))
        n_buckets = self.high - self.low + 1
        self.positive = np.zeros((n_columns, n_buckets), dtype=np.int64)
        self.negative = np.zeros((n_columns, n_buckets), dtype=np.int64)
        self.zero = np.zeros(n_columns, dtype=np.int64)
        self.n_clipped = 0

    @property
    def count(self) -> int:
        """Values counted per column."""
        return int(self.zero[0] + self.positive[0].sum() + self.negative[0].sum())

    def add(self, values: np.ndarray) -> None:
        """Count the rows of ``values (n, n_columns)``."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.n_columns)
        size = np.abs(values)
        small = size <= ZERO_THRESHOLD
        self.zero += small.sum(axis=0)
        self.n_clipped += int((size > MAX_MAGNITUDE).sum())
        with np.errstate(divide="ignore"):
            index = np.ceil(np.log(np.where(small, 1.0, size)) / self.log_gamma)
        index = np.clip(index, self.low, self.high).astype(np.int64) - self.low
        n_buckets = self.positive.shape[1]
        flat = index + n_buckets * np.arange(self.n_columns)[None, :]
        total = self.n_columns * n_buckets
        for counts, sign in ((self.positive, values > 0), (self.negative, values < 0)):
            picked = flat[sign & ~small]
            counts += np.bincount(picked, minlength=total).reshape(counts.shape)

    def merge(self, other: LogSketch) -> LogSketch:
        """The sketch of both sketches' values (a new object)."""
        if (other.n_columns, other.relative_accuracy) != (self.n_columns, self.relative_accuracy):
            raise ValueError("only sketches of the same columns and accuracy merge.")
        out = LogSketch(self.n_columns, self.relative_accuracy)
        out.positive = self.positive + other.positive
        out.negative = self.negative + other.negative
        out.zero = self.zero + other.zero
        out.n_clipped = self.n_clipped + other.n_clipped
        return out

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Estimates ``(len(levels), n_columns)`` of the order statistics of rank
        ``floor(q * (n - 1))`` (numpy's ``method="lower"``)."""
        n = self.count
        if n == 0:
            return np.full((len(levels), self.n_columns), np.nan)
        gamma = np.exp(self.log_gamma)
        mids = 2.0 * np.exp(self.log_gamma * np.arange(self.low, self.high + 1)) / (gamma + 1.0)
        # Ascending order of values: negatives from the largest magnitude, zeros, positives.
        counts = np.concatenate([self.negative[:, ::-1], self.zero[:, None], self.positive], 1)
        centres = np.concatenate([-mids[::-1], [0.0], mids])
        ranks = np.floor(np.asarray(levels) * (n - 1)).astype(np.int64)
        cumulative = np.cumsum(counts, axis=1)
        out = np.empty((len(ranks), self.n_columns))
        for c in range(self.n_columns):
            out[:, c] = centres[np.searchsorted(cumulative[c], ranks, side="right")]
        return out
