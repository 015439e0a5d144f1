"""The output a gradient explainer differentiates, one per row: ``target=``.

``None`` is each row's predicted class; an int or an output name is one class for every
row; a sequence is one class per row; a callable receives the outputs ``(n, k)`` and
returns any of these, or float weights ``(n, k)`` (a weighted sum of outputs is then
explained, e.g. the margin between two classes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._targets import output_indices


@dataclass
class Targets:
    """Per-row targets: class indices, or weights of the outputs."""

    classes: np.ndarray | None  # (n,) int64
    weights: np.ndarray | None  # (n, k) float64
    name: str  # the explained output's name in the Explanation

    def seeds(self, rows: np.ndarray) -> np.ndarray:
        """What ``model.gradient`` takes for these rows: class indices or weights."""
        if self.classes is not None:
            return self.classes[rows]
        assert self.weights is not None
        return self.weights[rows]

    def pick(self, outputs: np.ndarray) -> np.ndarray:
        """The explained output of each row, ``(n,)``."""
        if self.classes is not None:
            return outputs[np.arange(len(outputs)), self.classes]
        assert self.weights is not None
        return np.einsum("nk,nk->n", outputs, self.weights)

    def meta(self, names: list[str]) -> dict[str, Any]:
        if self.classes is None:
            return {"target": "weights", "target_weights": self.weights}
        return {
            "target": self.classes.tolist(),
            "target_names": [names[c] for c in self.classes],
        }


def resolve_targets(
    target: Any, n: int, names: list[str], outputs: Callable[[], np.ndarray]
) -> Targets:
    """Turn ``target`` into :class:`Targets` for ``n`` rows of a model with outputs ``names``.

    ``outputs()`` runs the model; it is called only when the target needs the
    predictions (None or a callable).

    Raises
    ------
    ValueError
        A class out of range (the message names the number of outputs), an unknown
        output name, a per-row target of the wrong length, weights of the wrong shape.
    TypeError
        Anything else.
    """
    k = len(names)
    if callable(target):
        result = target(outputs())
        if callable(result):
            raise TypeError("a target callable must return classes or weights, not a callable.")
        resolved = resolve_targets(result, n, names, outputs)
        resolved.name = "target" if resolved.weights is None else "weighted outputs"
        return resolved
    if target is None:
        classes = np.argmax(outputs(), axis=1).astype(np.int64)
        return Targets(classes, None, "predicted class")
    if isinstance(target, (str, int, np.integer)) and not isinstance(target, (bool, np.bool_)):
        (index,) = output_indices(target if isinstance(target, str) else int(target), names)
        return Targets(np.full(n, index, dtype=np.int64), None, names[index])
    arr = np.asarray(target)
    if arr.dtype.kind == "f" and arr.ndim == 2:
        if arr.shape != (n, k):
            raise ValueError(
                f"target weights must have shape (n, k) = {(n, k)} (one weight per row and "
                f"output of the model's {k} outputs), got {arr.shape}."
            )
        if not np.isfinite(arr).all():
            raise ValueError("target weights contain NaN or inf values.")
        return Targets(None, arr.astype(np.float64), "weighted outputs")
    if arr.ndim != 1 or not (arr.dtype.kind in "iu" or arr.dtype.kind in "OU"):
        raise TypeError(
            "target must be None (the predicted class), an int, an output name, one class "
            f"per row, (n, k) float weights, or a callable on the outputs; got {target!r}."
        )
    if len(arr) != n:
        raise ValueError(f"target has {len(arr)} entries for {n} rows of X (one per row).")
    classes = np.array(
        [output_indices(t if isinstance(t, str) else int(t), names)[0] for t in arr.tolist()],
        dtype=np.int64,
    )
    return Targets(classes, None, "target")
