"""If-then rules read off a tree: conditions, a value, and the rows they cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...utils.formatting import fmt_number, plural
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
    output_names : tuple of str
        The fitted output of each entry of ``value`` (empty for a class label).
    fit_to : {"output", "logit", "label"}
        What ``value`` holds: the model's outputs, their logits, or class probabilities.
    """

    conditions: tuple[Condition, ...]
    value: np.ndarray
    prediction: float | str
    support: float
    n_samples: int
    feature_index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)
    output_names: tuple[str, ...] = ()
    fit_to: str = "output"

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
        if isinstance(self.prediction, str):
            shown = f"class {self.prediction!r}"
        else:
            # Name every fitted output: a bare number does not say which output it is.
            kind = "logit " if self.fit_to == "logit" else ""
            names = self.output_names or ("output",)
            values = np.atleast_1d(self.value)
            shown = ", ".join(
                f"{kind}{_output_label(name)} = {fmt_number(float(v))}"
                for name, v in zip(names, values, strict=False)
            )
        return (
            f"if {body} then {shown}  (support {self.support:.1%}, {plural(self.n_samples, 'row')})"
        )


def _output_label(name: str) -> str:
    # The default name of a single output reads as a word; class names are quoted.
    return name if name == "output" else repr(name)


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
