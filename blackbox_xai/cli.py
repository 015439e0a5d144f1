"""Command line: ``blackbox-xai demo`` and ``blackbox-xai explain``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from ._cli_explain import add_parser as add_explain_parser
from .models import Model


def _demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    from . import Anchors, KernelShap, OnnxModel, Tabular, wrap
    from .models.convert import sklearn_to_onnx
    from .report import anchors_html, explanation_html, html_page

    data = load_breast_cancer()
    X, y = data.data, data.target
    names = [str(n) for n in data.feature_names]
    X_train, X_test, y_train, _ = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    forest = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=args.seed).fit(
        X_train, y_train
    )
    print(
        f"trained a random forest on breast cancer ({X_train.shape[0]} rows, {X.shape[1]} features)"
    )

    model: Model
    try:
        model = OnnxModel(sklearn_to_onnx(forest, X_train), feature_names=names)
        gap = float(np.abs(model(X_test) - forest.predict_proba(X_test)).max())
        print(f"exported to ONNX and wrapped with ONNX Runtime; max |ONNX - sklearn| = {gap:.2e}")
    except ImportError as exc:
        print(f"ONNX export skipped ({exc}); explaining the scikit-learn model")
        model = wrap(forest, feature_names=names)

    masker = Tabular(
        X_train, feature_names=names, summarize="kmeans", n_summary=args.background, seed=args.seed
    )
    rows = X_test[: args.rows]
    start = time.perf_counter()
    expl = KernelShap(model, masker, seed=args.seed).explain(rows, n_evals=args.n_evals)
    elapsed = time.perf_counter() - start
    o = expl.output_index(None)
    label = data.target_names[int(expl.output_names[o])] if expl.output_names[o].isdigit() else ""
    print(
        f"\nKernel SHAP values for {len(rows)} rows ({args.n_evals} coalitions each, "
        f"{masker.data.shape[0]} background rows, {expl.meta['n_model_rows']} model rows, "
        f"{elapsed:.2f} s); output {expl.output_names[o]!r} ({label}); +- is one standard error\n"
    )
    anchors = Anchors(model, X_train, seed=args.seed).explain_many(rows)
    assert expl.stderr is not None
    for r in range(len(rows)):
        pred = expl.base_values[r, o] + expl.values[r, :, o].sum()
        print(f"row {r}: E f = {expl.base_values[r, o]:.3f}  ->  f(x) = {pred:.3f}")
        for name, value in expl.top_features(r, o, 5):
            se = expl.stderr[r, names.index(name), o]
            print(f"    {name:<24} {value:+.4f} +- {se:.4f}")
        anchor = anchors[r]
        rule = " AND ".join(anchor.rule) or "(always)"
        print(
            f"    anchor: IF {rule} THEN class {anchor.predicted} "
            f"(precision {anchor.precision:.2f}, coverage {anchor.coverage:.2f})"
        )
    text_sections = _demo_text(args)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "explanation.json")
    html_path = os.path.join(args.out, "report.html")
    expl.to_json(json_path)
    with open(html_path, "w", encoding="utf-8") as fh:
        fh.write(
            html_page(
                "blackbox_xai demo: breast cancer random forest, review sentiment",
                [explanation_html(expl), anchors_html(anchors), *text_sections],
            )
        )
    print(f"\nwrote {json_path} and {html_path}")
    return 0


def _demo_text(args: argparse.Namespace) -> list[str]:
    """The text part of the demo: a sentiment pipeline on the bundled reviews, exported to
    ONNX (string input), its words' Shapley values and an anchor; HTML sections."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from . import Anchors, KernelShap, OnnxModel, wrap
    from .datasets import load_reviews
    from .maskers import Text
    from .models.convert import sklearn_to_onnx

    reviews = load_reviews()
    train, test, y_train, y_test = train_test_split(
        reviews.texts,
        reviews.target,
        test_size=0.3,
        random_state=args.seed,
        stratify=reviews.target,
    )
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(train, y_train)
    print(
        f"\ntrained TF-IDF + logistic regression on {len(train)} bundled reviews "
        f"(held-out accuracy {pipe.score(test, y_test):.2f})"
    )
    model: Model
    try:
        model = OnnxModel(sklearn_to_onnx(pipe, train[:1]))
        print("exported to ONNX with a string input and wrapped with ONNX Runtime")
    except ImportError as exc:
        print(f"ONNX export skipped ({exc}); explaining the scikit-learn pipeline")
        model = wrap(pipe)
    docs = test[: args.rows]
    expl = KernelShap(model, Text(), seed=args.seed).explain(docs, n_evals=args.n_evals)
    o = expl.output_names.index("1")
    anchor = Anchors(model, Text(mode="mask"), seed=args.seed).explain(docs[0])
    for r, doc in enumerate(docs):
        words = ", ".join(f"{w} {v:+.3f}" for w, v in expl.top_features(r, o, 3))
        print(f"review {r}: {doc!r}\n    P(positive) words: {words}")
    print(f"    anchor of review 0: {anchor}")
    return [expl.to_html(output=o), anchor.to_html()]


def build_parser() -> argparse.ArgumentParser:
    """The ``blackbox-xai`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="blackbox-xai", description="Explain the predictions of any model."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train, export to ONNX and explain a model on bundled data")
    demo.add_argument("--rows", type=int, default=5, help="rows to explain (default 5)")
    demo.add_argument("--background", type=int, default=50, help="background rows (default 50)")
    demo.add_argument("--n-evals", type=int, default=1000, help="coalitions per row (default 1000)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--out", default="blackbox_xai_demo", help="folder for the JSON and HTML report"
    )
    demo.set_defaults(func=_demo)
    add_explain_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``blackbox-xai`` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
