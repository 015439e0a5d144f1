"""Elementwise rules against central differences in float64, with broadcasting variants."""

import numpy as np
import pytest
from autodiff_harness import (
    check_adjoint,
    check_ort_float32,
    check_vjp,
    gradients,
    make_model,
    node_model,
)
from onnx import helper

rng = np.random.default_rng(0)
BROADCASTS = [
    ((3, 4), (3, 4)),
    ((2, 3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
]


def _away_from_zero(shape, low=0.5, high=2.0):
    values = rng.uniform(low, high, size=shape)
    return values * rng.choice([-1.0, 1.0], size=shape)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize(("shape_a", "shape_b"), BROADCASTS)
def test_binary_arithmetic_with_broadcasting(op, shape_a, shape_b):
    feeds = {"a": rng.standard_normal(shape_a), "b": _away_from_zero(shape_b)}
    grads = check_vjp(node_model(op, feeds), feeds)
    assert grads["a"].shape == shape_a and grads["b"].shape == shape_b


@pytest.mark.parametrize(("shape_a", "shape_b"), [((3, 4), (3, 4)), ((2, 3), (3,)), ((3,), ())])
def test_pow_with_respect_to_base_and_exponent(shape_a, shape_b):
    feeds = {"a": rng.uniform(0.5, 2.0, shape_a), "b": rng.uniform(-1.5, 2.5, shape_b)}
    check_vjp(node_model("Pow", feeds), feeds)


def test_pow_with_an_integer_constant_exponent():
    feeds = {"a": rng.standard_normal((3, 4))}
    model = node_model("Pow", feeds, {"b": np.array(3, dtype=np.int64)})
    check_vjp(model, feeds)
    grads, _ = gradients(model, feeds, {"y": np.ones((3, 4))}, ["a"])
    np.testing.assert_allclose(grads["a"], 3 * feeds["a"] ** 2, rtol=1e-14)


@pytest.mark.parametrize(
    ("op", "low", "high"),
    [
        ("Neg", -2, 2),
        ("Sqrt", 0.3, 3),
        ("Exp", -2, 2),
        ("Log", 0.3, 3),
        ("Abs", None, None),
        ("Reciprocal", None, None),
        ("Sin", -3, 3),
        ("Cos", -3, 3),
        ("Identity", -2, 2),
    ],
)
def test_unary_math(op, low, high):
    x = _away_from_zero((3, 5)) if low is None else rng.uniform(low, high, (3, 5))
    check_vjp(node_model(op, {"x": x}), {"x": x})


def test_erf_in_float64_and_on_ort_in_float32():
    feeds = {"x": rng.uniform(-2, 2, (3, 5))}
    model = node_model("Erf", feeds)
    check_vjp(model, feeds, engine="ref")  # ORT has no float64 Erf
    check_ort_float32(model, feeds)


@pytest.mark.parametrize("op", ["Sign", "Floor", "Ceil", "Round"])
def test_piecewise_constant_ops_pass_no_gradient(op):
    x = rng.uniform(0.1, 0.4, (2, 3)) + np.arange(3) - 1
    nodes = [helper.make_node(op, ["x"], ["t"]), helper.make_node("Mul", ["x", "t"], ["y"])]
    model = make_model(nodes, {"x": x}, ["y"])
    check_vjp(model, {"x": x})
    # d(x op(x))/dx = op(x) where op is locally constant
    grads, _ = gradients(model, {"x": x}, {"y": np.ones_like(x)}, ["x"])
    ref = {"Sign": np.sign, "Floor": np.floor, "Ceil": np.ceil, "Round": np.round}[op](x)
    np.testing.assert_array_equal(grads["x"], ref)


@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min"])
@pytest.mark.parametrize("n_inputs", [1, 2, 3])
def test_variadic_ops_with_broadcasting(op, n_inputs):
    shapes = [(2, 3, 4), (3, 1), (4,)][:n_inputs]
    feeds = {f"x{i}": rng.standard_normal(s) for i, s in enumerate(shapes)}
    model = node_model(op, feeds)
    if op == "Mean":  # ORT has Mean in float32 only
        check_vjp(model, feeds, engine="ref")
        check_ort_float32(model, feeds)
    else:
        check_vjp(model, feeds)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_max_min_split_ties_evenly(op):
    feeds = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 0.0, 5.0])}
    grads, _ = gradients(node_model(op, feeds), feeds, {"y": np.ones(3)}, ["a", "b"])
    expected_a = [0.5, 1.0, 0.0] if op == "Max" else [0.5, 0.0, 1.0]
    np.testing.assert_allclose(grads["a"], expected_a)
    np.testing.assert_allclose(grads["b"], 1 - np.array(expected_a))


@pytest.mark.parametrize(
    ("shape_c", "shape_a", "shape_b"),
    [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((2, 3, 4), (), (3, 4))],
)
def test_where_routes_gradients_by_condition(shape_c, shape_a, shape_b):
    feeds = {
        "c": rng.random(shape_c) > 0.5,
        "a": rng.standard_normal(shape_a),
        "b": rng.standard_normal(shape_b),
    }
    check_vjp(node_model("Where", feeds), feeds, wrt=["a", "b"])


@pytest.mark.parametrize(("shape_a", "shape_b"), BROADCASTS)
def test_add_is_adjoint_consistent(shape_a, shape_b):
    feeds = {"a": rng.standard_normal(shape_a), "b": rng.standard_normal(shape_b)}
    check_adjoint(node_model("Add", feeds), feeds, "b")
