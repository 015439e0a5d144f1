"""Reductions over axes (constant, empty, none, run-time), keepdims, opsets; CumSum."""

import numpy as np
import pytest
from autodiff_harness import check_vjp, gradients, make_model, node_model
from onnx import helper

rng = np.random.default_rng(7)
i64 = np.int64
OPS = [
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceSumSquare",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSumExp",
]


def _positive_away_from_zero(shape):
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("axes", [[1], [0, 2], [-1], None])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduction_over_constant_axes(op, axes, keepdims):
    feeds = {"x": _positive_away_from_zero((3, 4, 2))}
    consts = {} if axes is None else {"axes": np.array(axes, i64)}
    check_vjp(node_model(op, feeds, consts, keepdims=keepdims), feeds)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax"])
def test_reduction_with_empty_axes_and_noop(op):
    feeds = {"x": rng.standard_normal((3, 4))}
    model = node_model(op, feeds, {"axes": np.array([], i64)}, noop_with_empty_axes=1)
    grads, _ = gradients(model, feeds, {"y": np.full((3, 4), 2.0)}, ["x"])
    np.testing.assert_array_equal(grads["x"], 2.0)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2"])
@pytest.mark.parametrize("opset", [11, 13])
def test_reductions_of_older_opsets(op, opset):
    feeds = {"x": _positive_away_from_zero((3, 4, 2))}
    if op == "ReduceSum" and opset == 13:
        model = node_model(op, feeds, {"axes": np.array([1], i64)}, opset=opset, keepdims=0)
    else:
        model = node_model(op, feeds, opset=opset, axes=[1], keepdims=0)
    check_vjp(model, feeds)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean", "ReduceMax"])
def test_reduction_over_axes_computed_at_run_time(op):
    feeds = {"x": rng.standard_normal((3, 4, 2))}
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], start=0, end=1),  # [3]
        helper.make_node("Sub", ["s", "two"], ["axes"]),  # [1]
        helper.make_node(op, ["x", "axes"], ["y"], keepdims=1),
    ]
    model = make_model(nodes, feeds, ["y"], {"two": np.array([2], i64)})
    model.graph.output[0].CopyFrom(
        helper.make_tensor_value_info("y", 11, [3, 1, 2])
    )  # not inferable
    check_vjp(model, feeds)


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_empty_axes_at_run_time_with_noop_reduce_nothing(op):
    feeds = {"x": rng.standard_normal((3, 4))}
    nodes = [
        helper.make_node("Shape", ["x"], ["axes"], start=0, end=0),  # [] at run time
        helper.make_node(op, ["x", "axes"], ["y"], keepdims=1, noop_with_empty_axes=1),
    ]
    model = make_model(nodes, feeds, ["y"])
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 11, [3, 4]))
    seed = rng.standard_normal((3, 4))
    grads, _ = gradients(model, feeds, {"y": seed}, ["x"])
    np.testing.assert_array_equal(grads["x"], seed)


def test_reduce_max_splits_ties_evenly():
    feeds = {"x": np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])}
    model = node_model("ReduceMax", feeds, {"axes": np.array([1], i64)}, keepdims=0)
    grads, _ = gradients(model, feeds, {"y": np.array([4.0, 1.0])}, ["x"])
    np.testing.assert_array_equal(grads["x"], [[0, 2, 2], [1, 0, 0]])


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize("axis", [0, -1])
def test_cumsum(exclusive, reverse, axis):
    feeds = {"x": rng.standard_normal((3, 4))}
    model = node_model(
        "CumSum", feeds, {"axis": np.array(axis, i64)}, exclusive=exclusive, reverse=reverse
    )
    check_vjp(model, feeds)
