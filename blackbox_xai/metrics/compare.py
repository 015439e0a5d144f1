"""``compare``: every explainer against every metric, in one table and one figure."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..models import wrap
from ..utils.optional import import_optional
from ._declare import METRICS, MetricInfo
from ._perturb import data_kind
from .faithfulness import (
    completeness,
    deletion_curve,
    faithfulness_correlation,
    infidelity,
    insertion_curve,
)
from .robustness import max_sensitivity, stability

#: What ``compare`` runs by default: the metrics that only call the model.
DEFAULT_METRICS = (
    "deletion_auc",
    "insertion_auc",
    "faithfulness_correlation",
    "infidelity",
    "completeness",
)


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    explainers : list of str
    metrics : list of str
    scores : ndarray (n_explainers, n_metrics)
        Each metric averaged over the rows (NaN where it does not apply).
    seconds : ndarray (n_explainers,)
        Wall time of each ``explain`` call.
    model_rows : ndarray (n_explainers,)
        Model rows (evaluations) each explainer used, gradient rows included.
    info : dict of str -> MetricInfo
        What each metric applies to and which direction is better.
    """

    explainers: list[str]
    metrics: list[str]
    scores: np.ndarray
    seconds: np.ndarray
    model_rows: np.ndarray
    info: dict[str, MetricInfo]
    explanations: dict[str, Any] = field(default_factory=dict)

    def column(self, metric: str) -> str:
        """The table's label of ``metric``: its name and an arrow to the better side."""
        return f"{metric} {'↑' if self.info[metric].higher_is_better else '↓'}"

    def to_dict(self) -> dict[str, list[Any]]:
        """The table as columns: explainer, time, model evaluations, then each metric."""
        table: dict[str, list[Any]] = {
            "explainer": list(self.explainers),
            "time (s)": self.seconds.tolist(),
            "model evaluations": self.model_rows.tolist(),
        }
        for j, metric in enumerate(self.metrics):
            table[self.column(metric)] = self.scores[:, j].tolist()
        return table

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame indexed by explainer (pandas needed)."""
        pandas = import_optional("pandas")
        return pandas.DataFrame(self.to_dict()).set_index("explainer")

    def best(self) -> dict[str, str]:
        """The best explainer by each metric (ties: the first listed)."""
        out = {}
        for j, metric in enumerate(self.metrics):
            column = self.scores[:, j]
            if np.isnan(column).all():
                continue
            sign = -1.0 if self.info[metric].higher_is_better else 1.0
            out[metric] = self.explainers[int(np.nanargmin(sign * column))]
        return out

    def __str__(self) -> str:
        table = self.to_dict()
        heads = list(table)
        cells = [[_cell(v) for v in table[h]] for h in heads]
        widths = [max(len(h), *(len(c) for c in col)) for h, col in zip(heads, cells, strict=True)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
        for r in range(len(self.explainers)):
            lines.append("  ".join(col[r].ljust(w) for col, w in zip(cells, widths, strict=True)))
        return "\n".join(lines)

    def plot(self) -> Any:
        """A figure: one panel per metric (and time), a bar per explainer, the better
        direction in each title (matplotlib needed)."""
        plt = import_optional("matplotlib.pyplot")
        panels = [*self.metrics, "time (s)"]
        fig, axes = plt.subplots(
            1, len(panels), figsize=(2.6 * len(panels), 0.4 * len(self.explainers) + 1.6)
        )
        axes = np.atleast_1d(axes)
        where = np.arange(len(self.explainers))
        for ax, panel in zip(axes, panels, strict=True):
            if panel == "time (s)":
                ax.barh(where, self.seconds, color="0.6")
                ax.set_title("time (s) ↓", fontsize=9)
            else:
                ax.barh(where, self.scores[:, self.metrics.index(panel)], color="C0")
                ax.set_title(self.column(panel), fontsize=9)
            ax.set_yticks(where)
            ax.set_yticklabels(self.explainers if ax is axes[0] else [])
            ax.invert_yaxis()
            ax.tick_params(labelsize=8)
        fig.tight_layout()
        return fig


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _evaluations(model: Any) -> int | None:
    """Rows the model evaluated, forward and gradient (None without counters)."""
    if not hasattr(model, "n_rows"):
        return None
    return int(model.n_rows) + int(getattr(model, "n_gradient_rows", 0))


def _explain(explainer: Any, X: Any, target: Any, kwargs: dict[str, Any]) -> Any:
    if target is not None:
        kwargs = {**kwargs, "target": target}
    return explainer.explain(X, **kwargs)


def compare(
    explainers: Mapping[str, Any],
    model: Any,
    X: Any,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    masker: Any = None,
    target: Any = None,
    output: int | str | None = None,
    seed: int = 0,
    explain_kwargs: Mapping[str, dict[str, Any]] | None = None,
) -> Comparison:
    """Score every explainer with every metric on the same model and rows.

    The answer to "which explainer should I trust on this model": each explainer
    explains ``X`` once (timed, its model evaluations counted), then every metric
    scores that explanation; metrics that re-explain (``"max_sensitivity"``,
    ``"stability"``) run only when listed.

    Parameters
    ----------
    explainers : mapping of name -> explainer
        Anything with ``explain(X)`` (``explain(X, target=...)`` with ``target``).
    model : model object
        The model explained (what the metrics call).
    X : rows, documents or images
    metrics : sequence of str
        Names among ``deletion_auc``, ``insertion_auc``, ``faithfulness_correlation``,
        ``infidelity``, ``completeness``, ``max_sensitivity``, ``stability``.
    masker : Tabular, Text, ImagePerturbation or background rows
        How the metrics remove players (see :func:`deletion_curve`).
    target : optional
        The output explained and scored.
    output : int or str, optional
        The explanation output scored (the last by default).
    seed : int
        Seed of the metrics' random draws.
    explain_kwargs : mapping of name -> dict, optional
        Keyword arguments of an explainer's ``explain`` calls (its budget, say).

    Returns
    -------
    Comparison
        ``to_frame()`` (pandas), ``to_dict()``, ``str()`` and ``plot()``.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose among {sorted(METRICS)}.")
    if not explainers:
        raise ValueError("compare needs at least one explainer.")
    model = wrap(model)
    kind = data_kind(X)
    names = list(explainers)
    scores = np.full((len(names), len(metrics)), np.nan)
    seconds, rows = np.zeros(len(names)), np.zeros(len(names), dtype=np.int64)
    explanations = {}
    for i, name in enumerate(names):
        explainer = explainers[name]
        counter = getattr(explainer, "model", None)
        before = _evaluations(counter)
        start = time.perf_counter()
        kwargs = dict((explain_kwargs or {}).get(name, {}))
        explanation = _explain(explainer, X, target, kwargs)
        seconds[i] = time.perf_counter() - start
        if before is not None:
            rows[i] = _evaluations(counter) - before  # type: ignore[operator]
        else:
            rows[i] = int(np.sum(explanation.meta.get("n_model_rows", 0)))
        explanations[name] = explanation
        common = {"output": output, "target": target}
        for j, metric in enumerate(metrics):
            if kind not in METRICS[metric].data:
                continue
            if metric == "deletion_auc":
                value = deletion_curve(model, X, explanation, masker, **common).auc
            elif metric == "insertion_auc":
                value = insertion_curve(model, X, explanation, masker, **common).auc
            elif metric == "faithfulness_correlation":
                value = faithfulness_correlation(model, X, explanation, masker, seed=seed, **common)
            elif metric == "infidelity":
                value = infidelity(model, X, explanation, masker, seed=seed, **common)
            elif metric == "completeness":
                value = completeness(model, X, explanation, **common)
            elif metric == "max_sensitivity":
                value = max_sensitivity(
                    explainer, X, seed=seed, explanation=explanation, output=output, target=target
                )
            else:
                value = stability(
                    explainer, X, (seed, seed + 1, seed + 2), output=output, explain_kwargs=kwargs
                )["top_k_jaccard"]
            scores[i, j] = float(np.nanmean(value)) if np.isfinite(value).any() else np.nan
    return Comparison(
        names, list(metrics), scores, seconds, rows, {m: METRICS[m] for m in metrics}, explanations
    )
