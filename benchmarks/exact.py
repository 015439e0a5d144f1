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

import numpy as np
import shap
from _common import TimedModel, markdown_table, write_results
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

import blackbox_xai as bx


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :12]
    forest = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0, n_jobs=1).fit(
        X, y
    )
    masker = bx.Tabular(X, summarize="kmeans", n_summary=50, seed=0)
    bg, rows = masker.data, X[-10:]
    f = TimedModel(forest.predict_proba)

    start = time.perf_counter()
    ours = bx.ExactShapley(f, bx.Tabular(bg)).explain(rows)
    ours_time = time.perf_counter() - start
    ours_model, ours_rows = f.seconds, f.rows

    f.reset()
    start = time.perf_counter()
    theirs = shap.ExactExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)))(rows)
    shap_time = time.perf_counter() - start
    shap_model, shap_rows = f.seconds, f.rows

    gap = float(np.abs(ours.values - theirs.values).max())
    efficiency = float(
        np.abs(ours.values.sum(axis=1) + ours.base_values - forest.predict_proba(rows)).max()
    )
    headers = [
        "library",
        "wall s (10 rows)",
        "s per row",
        "model rows",
        "share in model",
        "ratio ours/shap",
    ]
    table_rows = [
        [
            "blackbox_xai",
            ours_time,
            ours_time / 10,
            ours_rows,
            ours_model / ours_time,
            ours_time / shap_time,
        ],
        ["shap", shap_time, shap_time / 10, shap_rows, shap_model / shap_time, 1.0],
    ]
    table = markdown_table(headers, table_rows)
    table += f"\n\nmax |ours - shap| = {gap:.2e}; efficiency error = {efficiency:.2e} (d=12, 50 background rows)"
    print(table)
    write_results(
        "exact",
        {
            "ours_seconds": ours_time,
            "shap_seconds": shap_time,
            "ours_share_in_model": ours_model / ours_time,
            "shap_share_in_model": shap_model / shap_time,
            "ours_model_rows": ours_rows,
            "shap_model_rows": shap_rows,
            "max_abs_diff": gap,
            "efficiency_error": efficiency,
            "shap_version": shap.__version__,
        },
        table,
    )


if __name__ == "__main__":
    main()
