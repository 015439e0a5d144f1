"""Explain a scikit-learn model on tabular data: Kernel SHAP values and LIME.

Run ``python examples/sklearn_tabular.py`` (add ``--small`` for a quick run); the report
is written to ``sklearn_tabular.html``.
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import blackbox_xai as bx
from blackbox_xai.report import explanation_html, html_page


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer rows and evaluations")
    parser.add_argument("--out", default="sklearn_tabular.html")
    args = parser.parse_args(argv)
    n_rows, n_evals = (2, 300) if args.small else (5, 2000)

    data = load_wine()
    names = [str(n) for n in data.feature_names]
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)

    # The background says what "feature absent" means: here, 20 k-means centres of the
    # training rows (interventional Shapley values; see the user guide's pitfalls).
    masker = bx.Tabular(X_train, feature_names=names, summarize="kmeans", n_summary=20, seed=0)
    shap = bx.KernelShap(forest, masker, seed=0).explain(X_test[:n_rows], n_evals=n_evals)
    # Efficiency: base value + attributions = the model's probability, row by row.
    check = shap.base_values + shap.values.sum(axis=1)
    assert abs(check - forest.predict_proba(X_test[:n_rows])).max() < 1e-6

    lime_masker = bx.LimeTabular(X_train, feature_names=names)  # quartile bins of each feature
    lime = bx.Lime(forest, lime_masker, seed=0).explain(X_test[:n_rows], target=1, n_samples=1000)
    for row in range(n_rows):
        print(f"row {row}: Kernel SHAP, class 1: {shap.top_features(row, output=1, n=3)}")
        print(f"        LIME, class 1:        {lime.top_features(row, n=3)}")
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(
            html_page(
                "Wine random forest: Kernel SHAP and LIME",
                [explanation_html(shap, output=1), explanation_html(lime)],
            )
        )
    print(f"wrote {args.out}")
    return {"shap": shap, "lime": lime}


if __name__ == "__main__":
    main()
