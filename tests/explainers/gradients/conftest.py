"""Small ONNX models for the gradient explainers, built with onnx.helper."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import blackbox_xai as bx

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# the light models' helpers live with the autodiff tests
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "autodiff"))


def build(nodes, inputs, outputs, weights, elem=TensorProto.DOUBLE, opset=18):
    """A model of ``nodes``; ``inputs`` maps names to (element type, dims)."""
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(n, e, d) for n, (e, d) in inputs.items()],
        [helper.make_tensor_value_info(o, elem, None) for o in outputs],
        initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    return onnx.shape_inference.infer_shapes(model)


@pytest.fixture(scope="session")
def softmax_regression():
    """``proba = softmax(x W + b)`` in float64 (4 features, 3 classes), and W, b."""
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["proba"]),
    ]
    model = build(nodes, {"x": (TensorProto.DOUBLE, ["n", 4])}, ["proba"], {"w": w, "b": b})
    return model, w, b


@pytest.fixture(scope="session")
def relu_mlp():
    """``logits = relu(x W1 + b1) W2`` in float64, and its weights."""
    rng = np.random.default_rng(2)
    w1, b1, w2 = rng.standard_normal((5, 6)), rng.standard_normal(6), rng.standard_normal((6, 3))
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["pre"]),
        helper.make_node("Relu", ["pre"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "w2"], ["logits"]),
    ]
    model = build(
        nodes, {"x": (TensorProto.DOUBLE, ["n", 5])}, ["logits"], {"w1": w1, "b1": b1, "w2": w2}
    )
    return model, w1, b1, w2


@pytest.fixture(scope="session")
def dynamic_cnn():
    """A float32 CNN for images of any size: Conv, Relu, Resize (x2), Conv, HardSwish,
    Concat, GlobalAveragePool, Gemm."""
    rng = np.random.default_rng(3)
    f32 = np.float32
    weights = {
        "c1": (rng.standard_normal((4, 3, 3, 3)) * 0.4).astype(f32),
        "c2": (rng.standard_normal((4, 4, 3, 3)) * 0.3).astype(f32),
        "scales": np.array([1, 1, 2, 2], f32),
        "fc": (rng.standard_normal((3, 7)) * 0.5).astype(f32),
        "fb": rng.standard_normal(3).astype(f32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "c1"], ["a1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("Resize", ["r1", "", "scales"], ["up"], mode="linear"),
        helper.make_node("Conv", ["up", "c2"], ["a2"], pads=[1, 1, 1, 1]),
        helper.make_node("HardSwish", ["a2"], ["h2"]),
        helper.make_node("Resize", ["x", "", "scales"], ["x_up"], mode="nearest"),
        helper.make_node("Concat", ["h2", "x_up"], ["both"], axis=1),
        helper.make_node("GlobalAveragePool", ["both"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fb"], ["logits"], transB=1),
    ]
    dims = ["n", 3, "h", "w"]
    return build(nodes, {"x": (TensorProto.FLOAT, dims)}, ["logits"], weights, TensorProto.FLOAT)


def _fixture_cnn(name):
    data = np.load(FIXTURES / f"{name}.npz")
    model = bx.DifferentiableOnnxModel(FIXTURES / f"{name}.onnx", output="logits")
    return model, data["x"], data["target"]


@pytest.fixture(scope="session")
def gap_cnn():
    """The torch-exported GAP CNN of the captum fixtures (ReLU, max-pooling, trained on
    digits; explaining its logits), three digits and their labels."""
    return _fixture_cnn("gap_cnn")


@pytest.fixture(scope="session")
def smooth_cnn():
    """The same CNN with SiLU activations and average pooling."""
    return _fixture_cnn("smooth_cnn")
