"""``blackbox-xai demo``: every method of the package on bundled data, in one report.

Three parts, each trained on the spot and exported to ONNX (explained through ONNX
Runtime): a random forest on scikit-learn's breast-cancer data (Kernel SHAP, LIME,
Anchors, a global surrogate), a TF-IDF sentiment model on the bundled reviews (word
Shapley values, a text anchor), and a small CNN on scikit-learn's 8x8 digits (saliency,
integrated gradients, SmoothGrad, Grad-CAM). The report is one self-contained HTML page.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from .models import Model
from .report import Section, anchors_section, explanation_section, report_page, surrogate_section
from .utils.formatting import fmt_number, plural


def run(args: argparse.Namespace) -> int:
    """Run the demo with the parsed ``blackbox-xai demo`` arguments; 0 on success."""
    start = time.perf_counter()
    sections, expl = _tabular(args)
    sections += _text(args)
    sections += _gradients(args)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "explanation.json")
    html_path = os.path.join(args.out, "report.html")
    expl.to_json(json_path)
    page = report_page(
        "blackbox_xai demo",
        sections,
        model=(
            "a random forest (breast cancer), TF-IDF + logistic regression (reviews) and a "
            "small CNN (digits), each trained here, exported to ONNX and run by ONNX Runtime"
        ),
        data=(
            "scikit-learn's breast-cancer and 8x8 digits data, and the reviews corpus "
            "bundled with blackbox_xai (blackbox_xai.datasets.load_reviews); explained rows "
            "are held out from training"
        ),
    )
    with open(html_path, "w", encoding="utf-8") as fh:
        fh.write(page)
    print(f"\nwrote {json_path} and {html_path} ({time.perf_counter() - start:.1f} s in all)")
    return 0


def _onnx_or_sklearn(estimator: Any, X: Any, **options: Any) -> Model:
    from . import OnnxModel, wrap
    from .models.convert import sklearn_to_onnx

    try:
        return OnnxModel(sklearn_to_onnx(estimator, X), **options)
    except ImportError as exc:
        print(f"ONNX export skipped ({exc}); explaining the scikit-learn model")
        return wrap(estimator, **options)


def _tabular(args: argparse.Namespace) -> tuple[list[Section | str], Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    from . import Anchors, GlobalSurrogate, KernelShap, Lime, LimeTabular, OnnxModel, Tabular

    data = load_breast_cancer()
    names = [str(n) for n in data.feature_names]
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.25, random_state=args.seed, stratify=data.target
    )
    forest = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=args.seed).fit(
        X_train, y_train
    )
    print(
        f"trained a random forest on breast cancer ({X_train.shape[0]} rows, "
        f"{X_train.shape[1]} features)"
    )
    model = _onnx_or_sklearn(forest, X_train, feature_names=names)
    if isinstance(model, OnnxModel):
        gap = float(np.abs(model(X_test) - forest.predict_proba(X_test)).max())
        print(f"exported to ONNX and wrapped with ONNX Runtime; max |ONNX - sklearn| = {gap:.2e}")
    masker = Tabular(
        X_train, feature_names=names, summarize="kmeans", n_summary=args.background, seed=args.seed
    )
    rows = X_test[: args.rows]
    tick = time.perf_counter()
    expl = KernelShap(model, masker, seed=args.seed).explain(rows, n_evals=args.n_evals)
    o = expl.output_names.index("1")
    print(
        f"\nKernel SHAP values for {plural(len(rows), 'row')} ({args.n_evals} coalitions each, "
        f"{masker.data.shape[0]} background rows, {expl.meta['n_model_rows']} model rows, "
        f"{time.perf_counter() - tick:.2f} s); output '1' ({data.target_names[1]}); "
        "+- is one standard error\n"
    )
    lime = Lime(model, LimeTabular(X_train, feature_names=names), seed=args.seed).explain(
        rows[: args.anchors], target=o
    )
    anchors = Anchors(model, X_train, seed=args.seed).explain_many(rows[: args.anchors])
    assert expl.stderr is not None
    for r in range(min(len(rows), args.anchors)):
        pred = expl.base_values[r, o] + expl.values[r, :, o].sum()
        print(
            f"row {r}: E f = {fmt_number(expl.base_values[r, o], '.3f')}  ->  "
            f"f(x) = {fmt_number(pred, '.3f')}"
        )
        for name, value in expl.top_features(r, o, 3):
            se = expl.stderr[r, names.index(name), o]
            print(f"    {name:<24} {fmt_number(value, '+.4f')} +- {se:.4f}")
        anchor = anchors[r]
        rule = " AND ".join(anchor.rule) or "(always)"
        print(
            f"    anchor: IF {rule} THEN class {anchor.predicted} "
            f"(precision {anchor.precision:.2f}, coverage {anchor.coverage:.2f})"
        )
    surrogate = GlobalSurrogate(model, kind="tree", max_depth=3, seed=args.seed).fit(X_train)
    fidelity = surrogate.fidelity(X_test)
    print(f"\n{fidelity}")
    sections: list[Section | str] = [
        explanation_section(
            expl, title=f"Breast cancer: Kernel SHAP, P({data.target_names[1]})", output=o
        ),
        explanation_section(lime, title=f"Breast cancer: LIME, P({data.target_names[1]})"),
        anchors_section(anchors, title="Breast cancer: anchors"),
        surrogate_section(surrogate, fidelity, title="Breast cancer: a global surrogate tree"),
    ]
    return sections, expl


def _text(args: argparse.Namespace) -> list[Section | str]:
    """A sentiment pipeline on the bundled reviews, exported to ONNX (string input), its
    words' Shapley values and an anchor."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from . import Anchors, KernelShap, OnnxModel
    from .datasets import load_reviews
    from .maskers import Text

    reviews = load_reviews()
    train, test, y_train, y_test = train_test_split(
        reviews.texts, reviews.target, test_size=0.3, random_state=args.seed,
        stratify=reviews.target,
    )  # fmt: skip
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10)).fit(train, y_train)
    print(
        f"\ntrained TF-IDF + logistic regression on {len(train)} bundled reviews "
        f"(held-out accuracy {pipe.score(test, y_test):.2f})"
    )
    model = _onnx_or_sklearn(pipe, train[:1])
    if isinstance(model, OnnxModel):
        print("exported to ONNX with a string input and wrapped with ONNX Runtime")
    docs = test[: min(args.rows, 3)]
    expl = KernelShap(model, Text(), seed=args.seed).explain(docs, n_evals=args.n_evals)
    o = expl.output_names.index("1")
    anchor = Anchors(model, Text(mode="mask"), seed=args.seed).explain(docs[0])
    for r, doc in enumerate(docs):
        words = ", ".join(f"{w} {v:+.3f}" for w, v in expl.top_features(r, o, 3))
        print(f"review {r}: {doc!r}\n    P(positive) words: {words}")
    print(f"    anchor of review 0: {anchor}")
    return [
        explanation_section(expl, title="Reviews: Kernel SHAP of each word, P(positive)", output=o),
        anchors_section([anchor], title="Reviews: an anchor"),
    ]


def _gradients(args: argparse.Namespace) -> list[Section | str]:
    """A small CNN on 8x8 digits, explained by its gradients."""
    try:
        model, images, labels = _digits_cnn(args.seed)
    except ImportError as exc:
        print(f"\ngradient part skipped ({exc})")
        return []
    from . import GradCam, IntegratedGradients, Saliency, SmoothGrad

    rows = images[:4]
    explainers = [
        ("saliency", Saliency(model, output="logits")),
        ("integrated gradients", IntegratedGradients(model, output="logits")),
        ("SmoothGrad", SmoothGrad(model, output="logits", seed=args.seed)),
        ("Grad-CAM", GradCam(model, layer="relu", output="logits")),
    ]
    sections: list[Section | str] = []
    print(f"digits of the explained images: {labels[:4].tolist()}")
    for label, explainer in explainers:
        expl = explainer.explain(rows)
        sections.append(
            explanation_section(expl, title=f"Digits CNN: {label} of the predicted class")
        )
        print(f"    {label}: maps of shape {expl.values.shape[1:-1]}")
    return sections + _perturbation(model, images, args.seed)


def _perturbation(onnx_cnn: bytes, images: np.ndarray, seed: int) -> list[Section | str]:
    """The same CNN explained without gradients: occlusion and RISE on the pixels."""
    from . import Occlusion, OnnxModel, Rise
    from .maskers import Image

    model = OnnxModel(onnx_cnn)
    predicted = model(images).argmax(axis=1)
    k = int(predicted[0])  # one class for all maps: four digits the CNN calls k
    rows = images[predicted == k][:4]
    black = Image(fill=0.0)  # a pixel is absent when black (the digits' background)
    occlusion = Occlusion(model, black, window=2).explain(rows, target=k)
    rise = Rise(model, black, n_masks=1000, seed=seed).explain(rows, target=k)
    print(f"    occlusion (2x2 windows) and RISE (1000 masks) of class {k}: maps of shape (8, 8)")
    return [
        explanation_section(occlusion, title=f"Digits CNN: occlusion of class {k}", max_rows=4),
        explanation_section(rise, title=f"Digits CNN: RISE of class {k}", max_rows=4),
    ]


def _digits_cnn(seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """A CNN on 8x8 digits, trained in a second: 8 fixed zero-mean 3x3 filters (seeded),
    ReLU, 2x2 average pooling, then a linear softmax layer fitted by logistic regression
    on the pooled features. Returns the ONNX model, held-out images ``(n, 1, 8, 8)`` and
    their labels."""
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from . import OnnxModel

    X, y = load_digits(return_X_y=True)
    images = (X / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    rng = np.random.default_rng(seed)
    kernels = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    kernels -= kernels.mean(axis=(2, 3), keepdims=True)  # edge-like: blind to flat regions
    conv = [
        helper.make_node("Conv", ["x", "k"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("AveragePool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
    ]
    head = [
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["proba"]),
    ]

    def build(nodes: list[Any], output: str, k: int, weights: dict[str, np.ndarray]) -> bytes:
        graph = helper.make_graph(
            nodes, "digits_cnn",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 8, 8])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["n", k])],
            initializer=[numpy_helper.from_array(v, name) for name, v in weights.items()],
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
        return bytes(model.SerializeToString())

    train, test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed, stratify=y)
    features = OnnxModel(build(conv, "flat", 128, {"k": kernels}))(images)
    head_fit = LogisticRegression(max_iter=2000).fit(features[train], y[train])
    weights = {
        "k": kernels,
        "W": head_fit.coef_.T.astype(np.float32),
        "b": head_fit.intercept_.astype(np.float32),
    }
    onnx_model = build(conv + head, "proba", 10, weights)
    accuracy = head_fit.score(features[test], y[test])
    print(f"\ntrained a small CNN on 8x8 digits (held-out accuracy {accuracy:.2f}), as ONNX")
    return onnx_model, images[test], y[test]
