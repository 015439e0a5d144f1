"""BatchNormalization (inference), LayerNormalization, InstanceNormalization and LRN."""

import numpy as np
import onnx
import pytest
from autodiff_harness import check_ort_float32, check_vjp, node_model

rng = np.random.default_rng(5)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 3, 5), (2, 3, 4, 4), (1, 3, 2, 3, 2)])
@pytest.mark.parametrize("opset", [9, 15, 18])
def test_batch_normalization_every_input(x_shape, opset):
    c = x_shape[1]
    feeds = {
        "x": rng.standard_normal(x_shape),
        "scale": rng.standard_normal(c),
        "bias": rng.standard_normal(c),
        "mean": rng.standard_normal(c),
        "var": rng.uniform(0.5, 2.0, c),
    }
    check_vjp(node_model("BatchNormalization", feeds, opset=opset, epsilon=1e-3), feeds)


@pytest.mark.parametrize(
    ("x_shape", "axis"),
    [((3, 5), -1), ((2, 3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4, 2), 2), ((2, 3, 4), 0)],
)
@pytest.mark.parametrize("bias", [True, False])
def test_layer_normalization(x_shape, axis, bias):
    normalized = x_shape[axis % len(x_shape) :]
    feeds = {"x": rng.standard_normal(x_shape), "scale": rng.standard_normal(normalized)}
    if bias:
        feeds["bias"] = rng.standard_normal(normalized)
    check_vjp(node_model("LayerNormalization", feeds, opset=17, axis=axis, epsilon=1e-4), feeds)


def test_layer_normalization_with_a_broadcast_scale():
    feeds = {
        "x": rng.standard_normal((2, 3, 4)),
        "scale": rng.standard_normal((1, 4)),
        "bias": rng.standard_normal(4),
    }
    check_vjp(node_model("LayerNormalization", feeds, opset=17, axis=1), feeds)


@pytest.mark.parametrize("x_shape", [(2, 3, 5), (2, 3, 4, 3)])
def test_instance_normalization(x_shape):
    c = x_shape[1]
    feeds = {
        "x": rng.standard_normal(x_shape),
        "scale": rng.standard_normal(c),
        "bias": rng.standard_normal(c),
    }
    model = node_model("InstanceNormalization", feeds, epsilon=1e-4)
    check_vjp(model, feeds, engine="ref")  # ORT has it in float32 only
    check_ort_float32(model, feeds)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_lrn_window_sizes(size):
    feeds = {"x": rng.standard_normal((2, 6, 3, 3))}
    model = node_model("LRN", feeds, size=size, alpha=0.5, beta=0.75, bias=1.5)
    check_vjp(model, feeds, engine="ref")  # ORT has it in float32 only
    if size % 2:  # and for odd sizes only
        check_ort_float32(model, feeds)


@pytest.mark.parametrize(
    ("x_shape", "groups"), [((2, 4, 3, 3), 2), ((2, 6, 5), 3), ((1, 4, 2, 2), 4)]
)
@pytest.mark.parametrize("opset", [18, 21])  # scale per group (18) or per channel (21)
def test_group_normalization(x_shape, groups, opset, monkeypatch):
    if opset == 18:  # onnx's checker refuses the deprecated GroupNormalization-18 that ORT runs
        monkeypatch.setattr(onnx.checker, "check_model", lambda model: None)
    length = groups if opset == 18 else x_shape[1]
    feeds = {
        "x": rng.standard_normal(x_shape),
        "scale": rng.standard_normal(length),
        "bias": rng.standard_normal(length),
    }
    model = node_model("GroupNormalization", feeds, opset=opset, num_groups=groups, epsilon=1e-4)
    # opset 21 computes the statistics in float32 unless stash_type says double
    exact = (
        model
        if opset == 18
        else node_model(
            "GroupNormalization", feeds, opset=opset, num_groups=groups, epsilon=1e-4, stash_type=11
        )
    )
    check_vjp(exact, feeds, engine="ref")
    check_ort_float32(model, feeds)
