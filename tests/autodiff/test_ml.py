"""ai.onnx.ml ops of scikit-learn exports: single nodes and whole pipelines.

Their outputs are float32, so differences use float32 outputs (step 1e-3, tolerances
to match); a wrong gradient is off by its own size.
"""

import warnings

import numpy as np
import pytest
from autodiff_harness import check_vjp, make_model
from onnx import helper
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

import blackbox_xai as bx
from blackbox_xai.models.convert import sklearn_to_onnx

rng = np.random.default_rng(13)
ML = {"ai.onnx.ml": 3}


def _ml_model(op, x, shape, outputs=("y",), **attrs):
    """One ai.onnx.ml node; its last output (float32, ``shape``) is the graph output."""
    node = helper.make_node(op, ["x"], list(outputs), domain="ai.onnx.ml", **attrs)
    model = make_model([node], {"x": x}, outputs[-1:], domains=ML)
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info(outputs[-1], 1, shape))
    return model


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaler(dtype):
    x = rng.standard_normal((4, 3)).astype(dtype)
    model = _ml_model("Scaler", x, x.shape, offset=[0.5, -1.0, 2.0], scale=[2.0, -0.5, 3.0])
    grads = check_vjp(model, {"x": x}, eps=1e-3, rtol=1e-4)
    assert grads["x"].dtype == dtype


@pytest.mark.parametrize("norm", ["MAX", "L1", "L2"])
def test_normalizer(norm):
    x = rng.uniform(0.5, 2.0, (4, 3)) * rng.choice([-1.0, 1.0], (4, 3))
    if norm == "MAX":
        x = np.abs(x)  # a positive maximum per row
    check_vjp(_ml_model("Normalizer", x, x.shape, norm=norm), {"x": x}, eps=1e-4, rtol=1e-3)


def test_linear_regressor():
    x = rng.standard_normal((5, 3)).astype(np.float32)  # ORT's LinearRegressor: float only
    model = _ml_model(
        "LinearRegressor",
        x,
        (5, 2),
        coefficients=[1.0, -2.0, 0.5, 0.3, 0.2, -1.0],
        intercepts=[0.1, 0.2],
        targets=2,
    )
    check_vjp(model, {"x": x}, eps=1e-3, rtol=1e-4)


@pytest.mark.parametrize("transform", ["NONE", "LOGISTIC", "SOFTMAX"])
@pytest.mark.parametrize("rows", [1, 3])
def test_linear_classifier_scores(transform, rows):
    x = rng.standard_normal((5, 2))
    labels = [0, 1] if rows == 1 else [0, 1, 2]
    model = _ml_model(
        "LinearClassifier",
        x,
        (5, len(labels)),
        outputs=("label", "scores"),
        coefficients=rng.standard_normal(2 * rows).tolist(),
        intercepts=rng.standard_normal(rows).tolist(),
        classlabels_ints=labels,
        post_transform=transform,
    )
    check_vjp(model, {"x": x}, eps=1e-3, rtol=1e-3)


def test_unsupported_post_transform():
    x = rng.standard_normal((5, 2))
    model = _ml_model(
        "LinearRegressor", x, (5, 1), coefficients=[1.0, 2.0], post_transform="PROBIT"
    )
    with pytest.raises(bx.autodiff.UnsupportedOperatorError, match="only post_transform='NONE'"):
        bx.autodiff.gradient_model(model, "x")


@pytest.mark.parametrize(
    "estimator",
    [
        make_pipeline(
            StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
        ),
        make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=500)),
        make_pipeline(Normalizer(), StandardScaler(), LogisticRegression(max_iter=500)),
        Ridge(),
    ],
    ids=["mlp", "multinomial", "normalized", "ridge"],
)
def test_scikit_learn_exports_are_differentiable(estimator):
    X, y = load_wine(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    model = bx.DifferentiableOnnxModel(sklearn_to_onnx(estimator, X))
    rows = X[:3]
    k = model(rows).shape[1]
    seeds = np.eye(k)[[0, 1 % k, 2 % k]]
    grad = model.gradient(rows, seeds)
    steps = 1e-3 * np.abs(X).max(axis=0)
    numeric = np.empty_like(rows)
    for j, step in enumerate(steps):
        shift = np.zeros_like(rows)
        shift[:, j] = step
        numeric[:, j] = np.sum((model(rows + shift) - model(rows - shift)) * seeds, axis=1) / (
            2 * step
        )
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=5e-3 * np.abs(numeric).max())
