"""Gradient explanations and Grad-CAM of an ONNX convolutional network on digits.

The network is built here as an ONNX graph (no deep-learning framework needed): a
convolution with fixed random 3x3 filters, ReLU, 2x2 average pooling and a linear layer
fitted by scikit-learn (ridge) on the pooled features, then a softmax. blackbox_xai
differentiates the graph itself; the gradients run on ONNX Runtime.
Run ``python examples/gradients_cnn.py [--small]``; writes ``gradients_cnn.html``.
"""

from __future__ import annotations

import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.linear_model import RidgeClassifier

import blackbox_xai as bx
from blackbox_xai.report import html_page

N_FILTERS = 8
#: Ridge scores are about +-1; scaled, the softmax gives confident probabilities.
LOGIT_SCALE = 5.0


def _graph(filters: np.ndarray, head: tuple[np.ndarray, np.ndarray] | None) -> bytes:
    """The network up to the pooled features (``head`` None) or with its linear head."""
    nodes = [
        helper.make_node("Conv", ["x", "filters"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["maps"]),
        helper.make_node("AveragePool", ["maps"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pooled"], ["features"]),
    ]
    weights = [numpy_helper.from_array(filters.astype(np.float32), "filters")]
    outputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, None])]
    if head is not None:
        coef, intercept = head
        weights += [
            numpy_helper.from_array(coef.astype(np.float32), "coef"),
            numpy_helper.from_array(intercept.astype(np.float32), "intercept"),
        ]
        nodes += [
            helper.make_node("Gemm", ["features", "coef", "intercept"], ["logits"], transB=1),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ]
        outputs = [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 10]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 10]),
        ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 8, 8])],
        outputs,
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def build_cnn(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Random filters, then the linear head fitted on the network's own features."""
    filters = np.random.default_rng(0).standard_normal((N_FILTERS, 1, 3, 3))
    features = bx.OnnxModel(_graph(filters, None), output="features")(images)
    # A ridge fit is closed-form (a logistic regression takes seconds on 2 cores); its
    # scores, scaled, serve as logits.
    head = RidgeClassifier(alpha=1.0).fit(features, labels)
    return _graph(filters, (LOGIT_SCALE * head.coef_, LOGIT_SCALE * head.intercept_))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fewer rows and steps")
    parser.add_argument("--out", default="gradients_cnn.html")
    args = parser.parse_args(argv)
    n_rows, n_steps = (2, 16) if args.small else (4, 64)

    X, y = load_digits(return_X_y=True)
    images = (X / 16).reshape(-1, 1, 8, 8).astype(np.float32)
    cnn = build_cnn(images[:1000], y[:1000])
    model = bx.DifferentiableOnnxModel(cnn)
    accuracy = float((model(images[1000:]).argmax(axis=1) == y[1000:]).mean())
    print(f"held-out accuracy of the ONNX CNN: {accuracy:.3f}")

    rows = images[1000 : 1000 + n_rows]
    saliency = bx.Saliency(model).explain(rows)
    # Logits do not saturate as probabilities do: integrate the gradient of the logit.
    ig = bx.IntegratedGradients(model, output="logits", n_steps=n_steps).explain(rows)
    print("IG completeness gap per row:", np.round(ig.meta["completeness_delta"], 4))
    cam = bx.GradCam(model, layer="maps").explain(rows)
    smooth = bx.SmoothGrad(model, n_samples=n_steps, seed=0).explain(rows)
    print("shapes:", saliency.values.shape, ig.values.shape, cam.values.shape)
    sections = []
    for name, expl in [("Saliency", saliency), ("Integrated gradients", ig),
                       ("SmoothGrad", smooth), ("Grad-CAM", cam)]:  # fmt: skip
        grids = "".join(
            "<pre>" + "\n".join(" ".join(f"{v:+.2f}" for v in line) for line in m) + "</pre>"
            for m in expl.values.reshape(len(expl), 8, 8)
        )
        sections.append(f"<h3>{name}</h3>{grids}")
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(html_page("Digits CNN: gradients and Grad-CAM", sections))
    print(f"wrote {args.out}")
    return {"accuracy": accuracy, "saliency": saliency, "ig": ig, "cam": cam, "smooth": smooth}


if __name__ == "__main__":
    main()
