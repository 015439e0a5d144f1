"""``AnchorExplanation``: a rule that anchors one prediction, with its precision and coverage."""

from __future__ import annotations

from typing import Any

import numpy as np

from .json_io import JsonRoundTrip, jsonable

_FORMAT = "blackbox_xai.AnchorExplanation"


class AnchorExplanation(JsonRoundTrip):
    """An anchor: a rule under which the model keeps its prediction for a row.

    Parameters
    ----------
    rule : list of str
        Readable predicates joined by AND, e.g. ``["worst radius <= 13.2"]``; empty
        when the prediction holds without any condition.
    features : list of int
        Columns the rule constrains, in the order of ``rule``.
    precision : float
        Share of samples drawn under the rule whose prediction agrees with ``predicted``.
    precision_bounds : (float, float)
        KL confidence bounds of the precision at the explainer's ``delta``.
    coverage : float
        Share of the reference (training) rows that satisfy the rule.
    predicted : int or float
        The class (index of the model output, or the label itself) or, for a
        regression, the value predicted for the row.
    success : bool
        True when the lower precision bound reaches the threshold; False for the
        best rule found before the search (or a model-call budget) ended.
    n_model_calls, n_model_rows : int
        Model calls and rows this row's search used, ``f(x)`` included.
    n_samples : int
        Samples drawn under the final rule.
    examples : dict of str -> ndarray or list of str
        ``"agree"`` and ``"differ"``: a few samples satisfying the rule whose
        prediction agrees / differs (perturbed documents for text).
    data : ndarray (p,) or str
        The explained row, or document (then ``rule`` lists the anchor's words,
        ``features`` their players, and ``meta`` the token offsets).
    feature_names : list of str
    meta : dict
        seed, threshold, delta, tau, output kind, tolerance, ...
    """

    def __init__(
        self,
        rule: list[str],
        features: list[int],
        precision: float,
        precision_bounds: tuple[float, float],
        coverage: float,
        predicted: float,
        success: bool,
        n_model_calls: int,
        n_model_rows: int,
        n_samples: int,
        examples: dict[str, Any],
        data: np.ndarray | str,
        feature_names: list[str],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.rule = [str(r) for r in rule]
        self.features = [int(j) for j in features]
        self.precision = float(precision)
        self.precision_bounds = (float(precision_bounds[0]), float(precision_bounds[1]))
        self.coverage = float(coverage)
        self.predicted = predicted
        self.success = bool(success)
        self.n_model_calls = int(n_model_calls)
        self.n_model_rows = int(n_model_rows)
        self.n_samples = int(n_samples)
        p = len(feature_names)
        self.data: Any
        self.examples: dict[str, Any]
        if isinstance(data, str):  # a document: examples are perturbed documents
            self.data = data
            self.examples = {k: [str(t) for t in v] for k, v in examples.items()}
        else:
            self.examples = {
                k: np.asarray(v, dtype=np.float64).reshape(-1, p) for k, v in examples.items()
            }
            self.data = np.asarray(data, dtype=np.float64).reshape(p)
        self.feature_names = [str(n) for n in feature_names]
        self.meta = dict(meta or {})

    def __repr__(self) -> str:
        rule = " AND ".join(self.rule) if self.rule else "(any row)"
        if isinstance(self.data, str):
            rule = " AND ".join(repr(w) for w in self.rule) if self.rule else "(any text)"
        predicted = repr(self.predicted)
        name = self.meta.get("predicted_name")
        if name is not None and str(name) != str(self.predicted):
            predicted += f" ({name!r})"
        # The threshold applies to the lower confidence bound, not to the estimate:
        # print both, or "precision 0.966, not reaching 0.95" reads as a contradiction.
        params = self.meta.get("parameters") or {}
        threshold, delta = params.get("threshold"), params.get("delta")
        lower = f"lower bound {self.precision_bounds[0]:.3f}"
        if delta is not None:
            lower += f" at {1 - float(delta):.0%} confidence"
        if threshold is not None:
            verdict = ">=" if self.success else "< threshold"
            lower += f" {verdict}{' threshold' if self.success else ''} {float(threshold):.3g}"
        elif not self.success:
            lower += ", not reaching the threshold"
        return (
            f"AnchorExplanation(IF {rule} THEN predict {predicted}; "
            f"precision {self.precision:.3f} ({lower}), coverage {self.coverage:.3f})"
        )

    def to_html(self) -> str:
        """An HTML fragment: for text, the document with the anchor's words highlighted,
        precision, coverage and example perturbations; for rows, the rule's table."""
        if isinstance(self.data, str):
            from ..report.text import text_anchor_html

            return text_anchor_html(self)
        from ..report import anchors_html

        return anchors_html([self])

    def _repr_html_(self) -> str:
        return self.to_html()

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, numbers, strings) used by JSON."""
        return jsonable(
            {
                "format": _FORMAT,
                "rule": self.rule,
                "features": self.features,
                "precision": self.precision,
                "precision_bounds": list(self.precision_bounds),
                "coverage": self.coverage,
                "predicted": self.predicted,
                "success": self.success,
                "n_model_calls": self.n_model_calls,
                "n_model_rows": self.n_model_rows,
                "n_samples": self.n_samples,
                "examples": self.examples,
                "data": self.data,
                "feature_names": self.feature_names,
                "meta": self.meta,
            }
        )

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> AnchorExplanation:
        """Inverse of :meth:`to_dict`."""
        if obj.get("format") != _FORMAT:
            raise ValueError("not a blackbox_xai AnchorExplanation (missing 'format').")
        fields = {k: v for k, v in obj.items() if k != "format"}
        fields["precision_bounds"] = tuple(fields["precision_bounds"])
        return cls(**fields)
