"""The predicates an explained row satisfies, and the reference rows each one covers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ...maskers.discretize import QuantileBins

#: An anchor: predicate ids in the order they were added.
Anchor = tuple[int, ...]


class RowPredicates:
    """Candidate predicates of one row, from quantile bins (equality for categoricals).

    Each inner edge ``e`` of a numeric feature gives the one-sided predicate the row
    satisfies, ``x_j <= e`` or ``x_j > e``, so a rule can bound a feature loosely
    (high coverage) or tightly; a categorical feature gives ``x_j = value``.
    Features with a single bin give none.

    Parameters
    ----------
    bins : QuantileBins
        Bins fitted on the training data.
    reference_bins : int array (n_ref, p)
        Bin of every value of the reference rows (``bins.transform(reference)``).
    x : array (p,)
        The explained row.
    value_names : dict of int -> list of str
        Printed value of each bin of every categorical feature.

    Attributes
    ----------
    feature, lo, hi : int arrays (n_predicates,)
        Predicate ``i`` is ``lo[i] <= bin(x_feature[i]) <= hi[i]``.
    side : int array (n_predicates,)
        0 for ``<=`` and ``=`` predicates, 1 for ``>``: an anchor holds at most one
        predicate per feature and side, the others being implied or implying.
    masks : bool array (n_predicates, n_ref)
        Which reference rows satisfy each predicate.
    """

    def __init__(
        self,
        bins: QuantileBins,
        reference_bins: np.ndarray,
        x: np.ndarray,
        value_names: dict[int, list[str]],
    ) -> None:
        self.bins = bins
        self.value_names = value_names
        x_bins = bins.transform(x.reshape(1, -1))[0]
        rows: list[tuple[int, int, int, int]] = []  # feature, lo, hi, side
        for j, b in enumerate(x_bins):
            last = int(bins.n_bins_[j]) - 1
            if last == 0:
                continue
            if j in bins.categories_:
                rows.append((j, int(b), int(b), 0))
                continue
            for edge in range(last):
                rows.append((j, 0, edge, 0) if b <= edge else (j, edge + 1, last, 1))
        table = np.array(rows, dtype=np.int64).reshape(-1, 4)
        self.feature, self.lo, self.hi, self.side = table.T
        values = reference_bins[:, self.feature].T
        self.masks = (values >= self.lo[:, None]) & (values <= self.hi[:, None])

    def __len__(self) -> int:
        return len(self.feature)

    def mask(self, anchor: Anchor) -> np.ndarray:
        """Reference rows satisfying every predicate of ``anchor``."""
        return np.logical_and.reduce(self.masks[list(anchor)], axis=0, initial=True)

    def describe(self, anchor: Anchor) -> tuple[list[str], list[int]]:
        """Readable rule (one predicate per feature, in order of addition) and its columns."""
        ranges: dict[int, tuple[int, int]] = {}
        for i in anchor:
            j = int(self.feature[i])
            lo, hi = ranges.get(j, (0, int(self.bins.n_bins_[j]) - 1))
            ranges[j] = (max(lo, int(self.lo[i])), min(hi, int(self.hi[i])))
        rule = [self._describe(j, lo, hi) for j, (lo, hi) in ranges.items()]
        return rule, list(ranges)

    def _describe(self, j: int, lo: int, hi: int) -> str:
        if j in self.value_names:  # one bin: the row's value
            return f"{self.bins.feature_names[j]} = {self.value_names[j][lo]}"
        return self.bins.describe_range(j, lo, hi)

    def parse(self, rule: Sequence[str | int]) -> Anchor:
        """The anchor a user-given rule stands for.

        Each item is a predicate as :meth:`describe` writes it (``"worst radius <=
        13.2"``, or a feature's full bin ``"12 < x <= 13.2"``), a feature name or a
        column index; the last two pin that feature to the bin of the explained row.
        """
        lookup: dict[str | int, tuple[int, ...]] = {}
        names = self.bins.feature_names
        for j in range(self.bins.n_features):
            ids = [int(i) for i in np.flatnonzero(self.feature == j)]
            lookup[j] = lookup[names[j]] = tuple(ids)
            # Every rule on one feature: at most one predicate per side.
            by_side = [[None, *(i for i in ids if self.side[i] == s)] for s in (0, 1)]
            for pair in itertools.product(*by_side):
                chosen = tuple(i for i in pair if i is not None)
                if chosen:
                    lookup.setdefault(self.describe(chosen)[0][0], chosen)
        anchor: list[int] = []
        for item in rule:
            key = int(item) if isinstance(item, (int, np.integer)) else str(item).strip()
            if key not in lookup:
                options = sorted(k for k in lookup if isinstance(k, str) and k not in names)
                raise ValueError(
                    f"rule item {item!r} is not a predicate of this row, a feature name or a "
                    f"column index. The row's predicates are: {options}."
                )
            anchor.extend(i for i in lookup[key] if i not in anchor)
        return tuple(anchor)
