"""Activation rules against central differences (inputs kept away from kinks)."""

import numpy as np
import pytest
from autodiff_harness import check_ort_float32, check_vjp, gradients, node_model
from scipy import special

rng = np.random.default_rng(1)


def _away_from_kinks(shape, kinks=(0.0,), gap=0.05):
    x = rng.uniform(-3, 3, size=shape)
    for k in kinks:
        near = np.abs(x - k) < gap
        x[near] += 2 * gap
    return x


@pytest.mark.parametrize(
    ("op", "attrs", "kinks"),
    [
        ("Relu", {}, (0.0,)),
        ("LeakyRelu", {"alpha": 0.1}, (0.0,)),
        ("Elu", {"alpha": 0.7}, (0.0,)),
        ("Selu", {}, (0.0,)),
        ("Sigmoid", {}, ()),
        ("Tanh", {}, ()),
        ("Softplus", {}, ()),
        ("Softsign", {}, (0.0,)),
        ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, (-0.4 / 0.3, 0.6 / 0.3)),
        ("HardSwish", {}, (-3.0, 3.0)),
        ("ThresholdedRelu", {"alpha": 0.5}, (0.5,)),
        ("Mish", {}, ()),
    ],
)
def test_activation(op, attrs, kinks):
    x = _away_from_kinks((4, 6), kinks)
    check_vjp(node_model(op, {"x": x}, **attrs), {"x": x})


@pytest.mark.parametrize("slope_shape", [(4, 6), (6,), (1,)])
def test_prelu_with_respect_to_input_and_slope(slope_shape):
    feeds = {"x": _away_from_kinks((4, 6)), "slope": rng.uniform(0.05, 0.5, slope_shape)}
    check_vjp(node_model("PRelu", feeds), feeds)


@pytest.mark.parametrize("bounds", [(-1.0, 1.5), (None, 0.5), (-0.5, None), (None, None)])
def test_clip_with_optional_bounds(bounds):
    low, high = bounds
    x = _away_from_kinks((4, 6), [b for b in bounds if b is not None])
    consts = {}
    names = ["x", "", ""]
    if low is not None:
        consts["low"] = np.array(low)
        names[1] = "low"
    if high is not None:
        consts["high"] = np.array(high)
        names[2] = "high"
    check_vjp(node_model("Clip", {"x": x}, consts, inputs=names), {"x": x})


@pytest.mark.parametrize("opset", [6, 9, 10])
@pytest.mark.parametrize(
    ("op", "attrs", "kinks"),
    [
        ("Clip", {"min": -1.0, "max": 1.5}, (-1.0, 1.5)),
        ("Clip", {"max": 0.5}, (0.5,)),
        ("Selu", {"alpha": 1.5, "gamma": 1.2}, (0.0,)),
    ],
)
def test_clip_and_selu_before_opset_11(op, attrs, kinks, opset):
    # bounds are attributes before Clip-11 (the version converter makes them inputs)
    x = _away_from_kinks((4, 6), kinks)
    model = node_model(op, {"x": x}, opset=opset, **attrs)
    check_vjp(model, {"x": x}, engine="ref")  # ORT has these old versions in float32 only
    check_ort_float32(model, {"x": x})


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_opset_20(approximate):
    x = rng.uniform(-3, 3, (3, 5))
    model = node_model("Gelu", {"x": x}, opset=20, approximate=approximate)

    def gelu(feeds):
        v = feeds["x"]
        if approximate == "tanh":
            return {"y": 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))}
        return {"y": v * 0.5 * (1 + special.erf(v / np.sqrt(2)))}

    check_vjp(model, {"x": x}, engine="ref", forward=gelu)  # ORT has no float64 Gelu
    check_ort_float32(model, {"x": x})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # x = [-1, 2, 3, -4], g = [5, -6, 7, 8]
        ("standard", [0.0, -6.0, 7.0, 0.0]),
        ("guided", [0.0, 0.0, 7.0, 0.0]),
        ("deconv", [5.0, 0.0, 7.0, 8.0]),
    ],
)
def test_relu_rules(rule, expected):
    x = np.array([-1.0, 2.0, 3.0, -4.0])
    g = np.array([5.0, -6.0, 7.0, 8.0])
    grads, _ = gradients(node_model("Relu", {"x": x}), {"x": x}, {"y": g}, ["x"], relu_rule=rule)
    np.testing.assert_array_equal(grads["x"], expected)


@pytest.mark.parametrize(
    ("rule", "low", "expected"),
    [
        # x = [-1, 2, 7, -4, 3], g = [5, -6, 7, 8, 9]; Clip(x, low, 6)
        ("standard", 0.0, [0.0, -6.0, 0.0, 0.0, 9.0]),
        ("guided", 0.0, [0.0, 0.0, 0.0, 0.0, 9.0]),  # like ReLU, and not above the cap
        ("deconv", 0.0, [5.0, 0.0, 7.0, 8.0, 9.0]),  # like ReLU: positive gradients
        ("guided", -2.0, [5.0, -6.0, 0.0, 0.0, 9.0]),  # not ReLU-like: the true gradient
    ],
)
def test_clip_from_zero_follows_the_relu_rules(rule, low, expected):
    x = np.array([-1.0, 2.0, 7.0, -4.0, 3.0])
    g = np.array([5.0, -6.0, 7.0, 8.0, 9.0])
    model = node_model("Clip", {"x": x}, {"lo": np.array(low), "hi": np.array(6.0)})
    grads, _ = gradients(model, {"x": x}, {"y": g}, ["x"], relu_rule=rule)
    np.testing.assert_array_equal(grads["x"], expected)
