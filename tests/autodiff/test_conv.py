"""Convolution and pooling rules over strides, pads, dilations, groups, auto_pad, ranks.

ORT runs Conv, ConvTranspose and AveragePool in float32 only: their gradient graphs are
checked in float64 on the reference evaluator, then on ORT in float32.
"""

import numpy as np
import pytest
from autodiff_harness import check_adjoint, check_ort_float32, check_vjp, gradients, node_model

import blackbox_xai as bx

rng = np.random.default_rng(4)

CONV_CASES = [
    # (x shape, w shape, attributes)
    ((1, 2, 5, 5), (3, 2, 3, 3), {}),
    ((2, 2, 6, 5), (3, 2, 3, 2), {"strides": [2, 2], "pads": [1, 0, 0, 1]}),
    ((1, 2, 7, 7), (2, 2, 3, 3), {"dilations": [2, 2], "pads": [2, 1, 2, 1]}),
    ((1, 4, 6, 6), (6, 2, 3, 3), {"group": 2, "strides": [2, 1]}),
    ((1, 3, 5, 5), (3, 1, 3, 3), {"group": 3, "pads": [1, 1, 1, 1]}),
    ((1, 2, 7, 6), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ((1, 2, 7, 6), (3, 2, 4, 2), {"auto_pad": "SAME_LOWER", "strides": [2, 3]}),
    ((1, 2, 7, 6), (3, 2, 3, 3), {"auto_pad": "VALID", "strides": [3, 2]}),
    ((2, 2, 9), (3, 2, 3), {"strides": [2], "dilations": [2], "pads": [1, 2]}),
    ((1, 2, 4, 5, 4), (2, 2, 2, 3, 2), {"strides": [2, 1, 2], "pads": [0, 1, 1, 1, 0, 0]}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_conv_input_and_bias_gradients(x_shape, w_shape, attrs, bias):
    feeds = {"x": rng.standard_normal(x_shape)}
    consts = {"w": rng.standard_normal(w_shape)}
    if bias:
        feeds["b"] = rng.standard_normal(w_shape[0])
    model = node_model("Conv", feeds, consts, inputs=["x", "w", *(["b"] if bias else [])], **attrs)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_CASES[:5])
def test_conv_is_adjoint_consistent(x_shape, w_shape, attrs):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model("Conv", feeds, {"w": rng.standard_normal(w_shape)}, **attrs)
    check_adjoint(model, feeds, "x", engine="ref")


CONV_TRANSPOSE_CASES = [
    ((1, 2, 4, 4), (2, 3, 3, 3), {}),
    (
        (1, 2, 3, 4),
        (2, 3, 3, 3),
        {"strides": [2, 2], "pads": [1, 0, 1, 1], "output_padding": [1, 0]},
    ),
    ((1, 4, 3, 3), (4, 1, 2, 2), {"group": 2, "strides": [2, 2], "dilations": [2, 1]}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_TRANSPOSE_CASES)
def test_conv_transpose(x_shape, w_shape, attrs):
    feeds = {
        "x": rng.standard_normal(x_shape),
        "b": rng.standard_normal(w_shape[1] * attrs.get("group", 1)),
    }
    model = node_model(
        "ConvTranspose", feeds, {"w": rng.standard_normal(w_shape)}, inputs=["x", "w", "b"], **attrs
    )
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


POOL_CASES = [
    ((1, 2, 6, 6), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ((2, 2, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    (
        (1, 2, 7, 7),
        {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 0, 1], "ceil_mode": 1},
    ),
    ((1, 2, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 2, 7, 6), {"kernel_shape": [2, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ((1, 2, 8, 7), {"kernel_shape": [2, 2], "strides": [1, 2], "dilations": [2, 2]}),
    ((2, 3, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    ((1, 2, 4, 5, 4), {"kernel_shape": [2, 2, 2], "strides": [2, 2, 1]}),
]


@pytest.mark.parametrize(("x_shape", "attrs"), POOL_CASES)
def test_max_pool(x_shape, attrs):
    feeds = {"x": rng.standard_normal(x_shape)}
    check_vjp(node_model("MaxPool", feeds, **attrs), feeds)


def test_max_pool_overlapping_windows_add_up_at_a_shared_maximum():
    x = np.zeros((1, 1, 1, 5))
    x[0, 0, 0, 2] = 1.0  # the maximum of both windows [0:3] and [2:5]
    model = node_model("MaxPool", {"x": x}, kernel_shape=[1, 3], strides=[1, 2])
    grads, _ = gradients(model, {"x": x}, {"y": np.array([[[[2.0, 5.0]]]])}, ["x"])
    np.testing.assert_array_equal(grads["x"].ravel(), [0, 0, 7, 0, 0])


def test_max_pool_keeps_an_indices_output_that_is_already_used():
    feeds = {"x": rng.standard_normal((1, 2, 4, 4))}
    from onnx import helper

    model = node_model("MaxPool", feeds, kernel_shape=[2, 2], strides=[2, 2])
    node = model.graph.node[0]
    node.output.append("indices")
    model.graph.output.append(helper.make_tensor_value_info("indices", 7, [1, 2, 2, 2]))
    check_vjp(model, feeds, outputs=["y"])


@pytest.mark.parametrize(("x_shape", "attrs"), POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool(x_shape, attrs, count_include_pad):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model("AveragePool", feeds, opset=19, count_include_pad=count_include_pad, **attrs)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("x_shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 2, 3)])
def test_global_pools(op, x_shape):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model(op, feeds)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), [CONV_CASES[i] for i in (1, 2, 3, 7, 8)])
def test_conv_with_spatial_sizes_known_only_at_run_time(x_shape, w_shape, attrs):
    feeds = {"x": rng.standard_normal(x_shape)}
    dims = {"x": ["n", x_shape[1], *[f"s{i}" for i in range(len(x_shape) - 2)]]}
    model = node_model("Conv", feeds, {"w": rng.standard_normal(w_shape)}, dims=dims, **attrs)
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize(("x_shape", "attrs"), [POOL_CASES[i] for i in (0, 1, 5, 6)])
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_with_spatial_sizes_known_only_at_run_time(x_shape, attrs, count_include_pad):
    feeds = {"x": rng.standard_normal(x_shape)}
    dims = {"x": ["n", x_shape[1], *[f"s{i}" for i in range(len(x_shape) - 2)]]}
    model = node_model(
        "AveragePool", feeds, opset=19, dims=dims, count_include_pad=count_include_pad, **attrs
    )
    check_vjp(model, feeds, engine="ref")
    check_ort_float32(model, feeds)


@pytest.mark.parametrize(
    ("op", "attrs", "match"),
    [
        ("Conv", {"auto_pad": "SAME_UPPER"}, "auto_pad=SAME_UPPER needs static spatial sizes"),
        (
            "AveragePool",
            {"ceil_mode": 1, "kernel_shape": [2, 2], "strides": [2, 2]},
            "ceil_mode=1 needs static",
        ),
    ],
)
def test_run_time_sizes_that_are_not_supported(op, attrs, match):
    feeds = {"x": rng.standard_normal((1, 2, 5, 5))}
    consts = {"w": rng.standard_normal((3, 2, 3, 3))} if op == "Conv" else {}
    model = node_model(op, feeds, consts, dims={"x": [1, 2, "h", "w"]}, **attrs)
    with pytest.raises(bx.autodiff.UnsupportedOperatorError, match=match):
        bx.autodiff.gradient_model(model, "x")


@pytest.mark.parametrize(("x_shape", "attrs"), POOL_CASES[:4])
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_is_adjoint_consistent(x_shape, attrs, count_include_pad):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model("AveragePool", feeds, count_include_pad=count_include_pad, **attrs)
    check_adjoint(model, feeds, "x", engine="ref")


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_TRANSPOSE_CASES)
def test_conv_transpose_is_adjoint_consistent(x_shape, w_shape, attrs):
    feeds = {"x": rng.standard_normal(x_shape)}
    model = node_model("ConvTranspose", feeds, {"w": rng.standard_normal(w_shape)}, **attrs)
    check_adjoint(model, feeds, "x", engine="ref")
