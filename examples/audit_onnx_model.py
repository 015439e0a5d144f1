"""Audit a deployed ONNX model: Shapley values, a global surrogate and anchors.

The model is a scikit-learn gradient boosting classifier exported with skl2onnx, as a
team would ship it; from then on only the ``.onnx`` file is used, run by ONNX Runtime.
Run ``python examples/audit_onnx_model.py [--small]``; writes ``audit_onnx_model.html``.
"""

from __future__ import annotations

import argparse
import html
import os
import tempfile

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

import blackbox_xai as bx
from blackbox_xai.models.convert import sklearn_to_onnx
from blackbox_xai.report import anchors_html, explanation_html, html_page


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer rows and evaluations")
    parser.add_argument("--out", default="audit_onnx_model.html")
    args = parser.parse_args(argv)
    n_rows, n_evals = (2, 400) if args.small else (5, 2000)

    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    gbm = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)
    gbm.fit(X_train, y_train)
    path = os.path.join(tempfile.mkdtemp(), "cancer_gbm.onnx")
    with open(path, "wb") as fh:
        fh.write(sklearn_to_onnx(gbm, X_train))

    # The audit starts here: nothing but the file and some data.
    model = bx.OnnxModel(path, feature_names=names)
    masker = bx.Tabular(X_train, feature_names=names, summarize="kmeans", n_summary=20, seed=0)
    shap = bx.KernelShap(model, masker, seed=0).explain(X_test[:n_rows], n_evals=n_evals)
    print("largest standard error of a Shapley value:", float(shap.stderr.max()))

    # A depth-3 tree that mimics the model; its held-out fidelity says how far to trust it.
    surrogate = bx.GlobalSurrogate(model, max_depth=3, seed=0).fit(X_train)
    fidelity = surrogate.fidelity(X_test)
    print(fidelity)

    anchors = bx.Anchors(model, X_train, seed=0).explain_many(X_test[:n_rows])
    for anchor in anchors:
        print(anchor)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(
            html_page(
                "Audit of cancer_gbm.onnx",
                [
                    explanation_html(shap, output="1"),
                    f"<h3>Global surrogate</h3><pre>{html.escape(surrogate.export_text())}</pre>"
                    f"<pre>{html.escape(str(fidelity))}</pre>",
                    anchors_html(anchors),
                ],
            )
        )
    print(f"wrote {args.out}")
    return {"shap": shap, "fidelity": fidelity, "anchors": anchors, "y_test": y_test}


if __name__ == "__main__":
    main()
