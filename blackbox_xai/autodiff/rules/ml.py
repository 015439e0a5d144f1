"""ai.onnx.ml ops of scikit-learn exports: Scaler, Normalizer, LinearRegressor and the
scores of LinearClassifier. Their outputs are float32 whatever the input, so gradients
are cast back to the input's type."""

from __future__ import annotations

import numpy as np

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]
ML = "ai.onnx.ml"


def _back_to_input_type(ctx: VjpContext, grad: str) -> str:
    return ctx.emit("Cast", grad, to=ctx.info(ctx.inputs[0]).elem_type or 1)


def _float32(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


@register("Scaler", domain=ML)
def scaler(ctx: VjpContext) -> Grads:
    """y = (x - offset) * scale, per feature."""
    scale = _float32(ctx.attr("scale", [1.0]))
    return [_back_to_input_type(ctx, ctx.emit("Mul", ctx.grad, ctx.const(scale)))]


def _weights(ctx: VjpContext) -> np.ndarray:
    """The (rows, features) coefficient matrix of a linear model."""
    features = ctx.static_dims(ctx.inputs[0], [-1])[0]
    return _float32(ctx.attr("coefficients")).reshape(-1, features)


@register("LinearRegressor", domain=ML)
def linear_regressor(ctx: VjpContext) -> Grads:
    """y = x W^T + b."""
    if ctx.attr("post_transform", "NONE") != "NONE":
        raise ctx.unsupported("only post_transform='NONE' is supported")
    return [_back_to_input_type(ctx, ctx.emit("MatMul", ctx.grad, ctx.const(_weights(ctx))))]


@register("LinearClassifier", domain=ML)
def linear_classifier(ctx: VjpContext) -> Grads:
    """Scores ``T(x W^T + b)``; with one row of coefficients for two classes, ONNX Runtime
    returns ``[1 - t, t]`` with ``t = sigmoid(raw)`` (LOGISTIC) or ``t = raw`` (otherwise)."""
    if ctx.grads[0] is not None:
        raise ctx.unsupported("its labels have no gradient")
    transform = ctx.attr("post_transform", "NONE")
    if transform not in ("NONE", "LOGISTIC", "SOFTMAX"):
        raise ctx.unsupported(f"post_transform={transform!r} is not supported")
    g, scores = ctx.grads[1], ctx.outputs[1]
    assert g is not None
    weights = _weights(ctx)
    labels = ctx.attr("classlabels_ints") or ctx.attr("classlabels_strings") or []
    if weights.shape[0] == 1 and len(labels) == 2:
        first, second = ctx.emit_n("Split", [g, ctx.ints([1, 1])], 2, axis=-1)
        d_raw = ctx.emit("Sub", second, first)
        if transform == "LOGISTIC":
            positive = ctx.emit("Slice", scores, ctx.ints([1]), ctx.ints([2]), ctx.ints([-1]))
            slope = ctx.emit("Mul", positive, ctx.emit("Sub", ctx.const(np.float32(1)), positive))
            d_raw = ctx.emit("Mul", d_raw, slope)
    elif transform == "LOGISTIC":
        slope = ctx.emit("Mul", scores, ctx.emit("Sub", ctx.const(np.float32(1)), scores))
        d_raw = ctx.emit("Mul", g, slope)
    elif transform == "SOFTMAX":
        inner = ctx.reduce_sum(ctx.emit("Mul", g, scores), [-1])
        d_raw = ctx.emit("Mul", scores, ctx.emit("Sub", g, inner))
    else:
        d_raw = g
    return [_back_to_input_type(ctx, ctx.emit("MatMul", d_raw, ctx.const(weights)))]


@register("Normalizer", domain=ML)
def normalizer(ctx: VjpContext) -> Grads:
    """y = x / n(x) per row, n = max, sum of absolute values, or Euclidean norm."""
    x, y, g = ctx.inputs[0], ctx.outputs[0], ctx.grad
    norm = ctx.attr("norm", "MAX")
    x32 = ctx.emit("Cast", x, to=1)
    if norm == "L1":
        size = ctx.reduce_sum(ctx.emit("Abs", x32), [-1])
        direction = ctx.emit("Sign", x32)
    elif norm == "L2":
        size = ctx.emit("Sqrt", ctx.reduce_sum(ctx.emit("Mul", x32, x32), [-1]))
        direction = y
    else:  # MAX: the maximum's gradient split between ties
        size = ctx.emit("ReduceMax", x32, ctx.ints([-1]), keepdims=1)
        mask = ctx.emit("Cast", ctx.emit("Equal", x32, size), to=1)
        direction = ctx.emit("Div", mask, ctx.reduce_sum(mask, [-1]))
    # dx = (g - direction * sum(g * y)) / n
    inner = ctx.reduce_sum(ctx.emit("Mul", g, y), [-1])
    grad = ctx.emit("Div", ctx.emit("Sub", g, ctx.emit("Mul", direction, inner)), size)
    return [_back_to_input_type(ctx, grad)]
