"""If-then rules read off a tree: conditions, a value, and the rows they cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...utils.validation import check_array


@dataclass(frozen=True)
class Condition:
    """One test on one feature: ``feature <= threshold`` or ``feature > threshold``."""

    feature: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.feature} {self.op} {self.threshold:.4g}"


@dataclass(frozen=True)
class Rule:
    """``if all(conditions) then value``, with the share of fitting rows it covers.

    Attributes
    ----------
    conditions : tuple of Condition
    value : ndarray
        Surrogate prediction: one value per fitted output, or class probabilities.
    prediction : float or str
        The value shown: the (first fitted) output, or the name of the predicted class.
    support : float
        Fraction of the fitting rows that satisfy the rule.
    n_samples : int
        Number of fitting rows that satisfy it.
    feature_index : dict of str -> int
        Column of each feature name in the rows ``matches`` reads.
    """

    conditions: tuple[Condition, ...]
    value: np.ndarray
    prediction: float | str
    support: float
    n_samples: int
    feature_index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)

    def matches(self, X: Any) -> np.ndarray:
        """Which rows of ``X`` satisfy every condition, exactly as the tree decides.

        Parameters
        ----------
        X : array-like (n, p)
            Rows with the columns the surrogate was fitted on.

        Returns
        -------
        ndarray of bool (n,)
        """
        # scikit-learn's trees compare float32(x) with a float64 threshold: do the same,
        # or a row within float32 rounding of a threshold takes the other branch.
        A = check_array(X, name="X").astype(np.float32).astype(np.float64)
        ok = np.ones(A.shape[0], dtype=bool)
        for c in self.conditions:
            col = A[:, self.feature_index[c.feature]]
            ok &= col <= c.threshold if c.op == "<=" else col > c.threshold
        return ok

    def __str__(self) -> str:
        body = " and ".join(str(c) for c in self.conditions) or "always"
        shown = (
            f"{self.prediction:.4g}"
            if isinstance(self.prediction, float)
            else repr(self.prediction)
        )
        return f"if {body} then {shown}  (support {self.support:.1%}, {self.n_samples} rows)"


def simplify(conditions: list[Condition]) -> list[Condition]:
    """One interval per feature: the tightest ``<=`` and ``>`` of each, in first-seen order."""
    upper: dict[str, float] = {}
    lower: dict[str, float] = {}
    order: list[str] = []
    for c in conditions:
        if c.feature not in order:
            order.append(c.feature)
        if c.op == "<=":
            upper[c.feature] = min(upper.get(c.feature, np.inf), c.threshold)
        else:
            lower[c.feature] = max(lower.get(c.feature, -np.inf), c.threshold)
    out = []
    for name in order:
        if name in lower:
            out.append(Condition(name, ">", lower[name]))
        if name in upper:
            out.append(Condition(name, "<=", upper[name]))
    return out
