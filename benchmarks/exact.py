"""Exact Shapley values: blackbox_xai.ExactShapley vs shap.ExactExplainer.

Breast cancer, first 12 features, a random forest, 50 background rows (k-means summary),
10 explained rows; the same timed model function is given to both libraries, so the
share of time spent inside the model is measured for each.

Run (shap is a benchmark-only peer)::

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install -e '.[all]' shap
    /tmp/bench/bin/python benchmarks/exact.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import shap
from _common import TimedModel, markdown_table, write_results
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

import blackbox_xai as bx
from blackbox_xai.models.convert import sklearn_to_onnx


def _run(
    name: str, fn: Callable[[np.ndarray], np.ndarray], bg: np.ndarray, rows: np.ndarray
) -> tuple[list, float]:
    """Time ours and shap on one model function; return table rows and both value arrays."""
    f = TimedModel(fn)
    start = time.perf_counter()
    ours = bx.ExactShapley(f, bx.Tabular(bg)).explain(rows)
    ours_time = time.perf_counter() - start
    ours_model, ours_rows = f.seconds, f.rows
    f.reset()
    start = time.perf_counter()
    theirs = shap.ExactExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)))(rows)
    shap_time = time.perf_counter() - start
    n = len(rows)
    table = [
        [
            name,
            "blackbox_xai",
            ours_time,
            ours_time / n,
            ours_rows,
            ours_model / ours_time,
            ours_time / shap_time,
        ],
        [name, "shap", shap_time, shap_time / n, f.rows, f.seconds / shap_time, 1.0],
    ]
    return table, float(np.abs(ours.values - theirs.values).max())


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :12]
    forest = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0, n_jobs=1).fit(
        X, y
    )
    bg = bx.Tabular(X, summarize="kmeans", n_summary=50, seed=0).data
    rows = X[-10:]
    onnx_model = bx.OnnxModel(sklearn_to_onnx(forest, X))
    table_rows, gaps = [], {}
    for name, fn in (
        ("sklearn predict_proba", forest.predict_proba),
        ("ONNX Runtime (OnnxModel)", onnx_model),
    ):
        part, gap = _run(name, fn, bg, rows)
        table_rows += part
        gaps[name] = gap
    headers = [
        "model",
        "library",
        "wall s (10 rows)",
        "s per row",
        "model rows",
        "share in model",
        "ratio ours/shap",
    ]
    table = markdown_table(headers, table_rows)
    table += f"\n\nmax |ours - shap| per model: {gaps} (d=12, 50 background rows, 10 rows)"
    print(table)
    write_results(
        "exact",
        {
            "rows": [dict(zip(headers, r, strict=True)) for r in table_rows],
            "max_abs_diff": gaps,
            "shap_version": shap.__version__,
        },
        table,
    )


if __name__ == "__main__":
    main()
