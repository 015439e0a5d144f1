"""What "the same prediction" means for an anchor: class, label or a band around a value."""

from __future__ import annotations

import numpy as np

#: "auto": several columns are class scores (argmax), one column a regression value.
OUTPUT_KINDS = ("auto", "proba", "label", "regression")

# Float32 models (ONNX) round probability rows by more than float64 would.
_PROBA_ATOL = 1e-4


class Target:
    """Checks model outputs of one kind and compares them with the explained prediction.

    Parameters
    ----------
    output_kind : {"auto", "proba", "label", "regression"}
        ``"proba"``: one probability column per class, the class is the argmax.
        ``"label"``: one column of whole-number class labels. ``"regression"``: one
        column of values; a sample agrees when it lies within ``tolerance`` of
        ``f(x)``. ``"auto"``: several columns are class scores (argmax), one column
        is a regression value.
    tolerance : float, optional
        Half-width of the regression band (required for regression outputs).

    Attributes
    ----------
    kind : str
        The resolved kind, once outputs have been seen ("auto" becomes
        "scores" or "regression").
    """

    def __init__(self, output_kind: str, tolerance: float | None) -> None:
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {output_kind!r}.")
        if tolerance is not None and not (np.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}.")
        if output_kind == "regression" and tolerance is None:
            raise ValueError(_NEEDS_TOLERANCE)
        self.output_kind = output_kind
        self.tolerance = tolerance

    def resolve(self, out: np.ndarray) -> str:
        """The kind of these outputs, after checking they are of the declared kind."""
        k = out.shape[1]
        kind = self.output_kind
        if kind == "auto":
            kind = "scores" if k > 1 else "regression"
            if kind == "regression" and self.tolerance is None:
                raise ValueError(_NEEDS_TOLERANCE)
        if kind == "label":
            if k > 1:
                raise ValueError(
                    f"output_kind='label' expects one column of class labels, but the model "
                    f"returned {k} columns (class probabilities or scores?). Pass "
                    "output_kind='proba' (or 'auto') to use the most likely class, or wrap "
                    "the model's predict method instead."
                )
            bad = out[:, 0] != np.round(out[:, 0])
            if bad.any():
                raise ValueError(
                    f"output_kind='label' expects whole-number class labels, but the model "
                    f"returned {out[bad, 0][0]!r} (the probability of one class?). Wrap a "
                    "model that returns labels or all class probabilities, or pass "
                    "output_kind='regression' with a tolerance."
                )
        elif kind == "proba":
            if k == 1:
                raise ValueError(
                    "output_kind='proba' expects one probability column per class, but the "
                    "model returned a single column (class labels or a regression value?). "
                    "Pass output_kind='label' for class labels, or 'regression' with a "
                    "tolerance."
                )
            sums = out.sum(axis=1)
            bad = (
                (out < -_PROBA_ATOL).any(axis=1)
                | (out > 1 + _PROBA_ATOL).any(axis=1)
                | (np.abs(sums - 1) > _PROBA_ATOL)
            )
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"output_kind='proba' expects rows of class probabilities (in [0, 1], "
                    f"summing to 1), but an output row is {out[i].tolist()} (sum "
                    f"{sums[i]:.4g}). Pass output_kind='auto' to take the largest score as "
                    "the class."
                )
        elif kind == "regression" and k > 1:
            raise ValueError(
                f"output_kind='regression' expects one output column, but the model returned "
                f"{k} (class probabilities?). Pass output_kind='proba' (or 'auto') for a "
                "classifier, or select one output when wrapping the model."
            )
        return kind

    def predictions(self, out: np.ndarray) -> np.ndarray:
        """Class index, label or value of every output row (checked by :meth:`resolve`)."""
        return _values(self.resolve(out), out)

    def agree(self, out: np.ndarray, predicted: float) -> np.ndarray:
        """Which output rows keep the explained prediction ``predicted``."""
        kind = self.resolve(out)
        values = _values(kind, out)
        if kind == "regression":
            assert self.tolerance is not None  # resolve() demands it
            return np.abs(values - predicted) <= self.tolerance
        return values == predicted


def _values(kind: str, out: np.ndarray) -> np.ndarray:
    return np.argmax(out, axis=1) if kind in ("scores", "proba") else out[:, 0]


_NEEDS_TOLERANCE = (
    "the model returns one column, read as a regression value: pass tolerance=... "
    "(precision then counts samples predicted within +/- tolerance of f(x)), or "
    "output_kind='label' if the column holds class labels."
)
