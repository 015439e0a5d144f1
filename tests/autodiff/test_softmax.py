"""Softmax and LogSoftmax over every axis, with opset < 13 and >= 13 axis semantics."""

import numpy as np
import pytest
from autodiff_harness import check_vjp, node_model

rng = np.random.default_rng(2)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("opset", [11, 13, 18])
def test_softmax_axis_semantics(op, axis, opset):
    # opset 11 flattens to 2-D at `axis`; opset 13 normalises along `axis` only
    x = rng.standard_normal((2, 3, 4))
    check_vjp(node_model(op, {"x": x}, opset=opset, axis=axis), {"x": x})


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_default_axis_opset_9(op):
    x = rng.standard_normal((3, 5))
    check_vjp(node_model(op, {"x": x}, opset=9), {"x": x})
