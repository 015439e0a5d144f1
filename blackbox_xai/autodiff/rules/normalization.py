"""Normalisation: BatchNormalization (inference), LayerNormalization,
InstanceNormalization, GroupNormalization and LRN."""

from __future__ import annotations

from collections.abc import Sequence

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


def _per_channel(ctx: VjpContext, p: str, rank: int) -> str:
    """A (C,) parameter shaped (C, 1, ..., 1) to broadcast against (N, C, ...)."""
    return ctx.unsqueeze(p, list(range(1, rank - 1)))


@register("BatchNormalization")
def batch_normalization(ctx: VjpContext) -> Grads:
    if ctx.attr("training_mode", 0):
        raise ctx.unsupported("training_mode=1 is not supported (export the model in eval mode)")
    x, scale, _, mean, var = ctx.inputs[:5]
    g = ctx.grad
    rank = ctx.rank(x)
    rstd = ctx.emit(
        "Reciprocal",
        ctx.emit("Sqrt", ctx.emit("Add", var, ctx.scalar(ctx.attr("epsilon", 1e-5), var))),
    )
    gain = ctx.emit("Mul", scale, rstd)
    axes = [0, *range(2, rank)]
    dbias = ctx.reduce_sum(g, axes, keepdims=False)
    centered = ctx.emit("Sub", x, _per_channel(ctx, mean, rank))
    xhat = ctx.emit("Mul", centered, _per_channel(ctx, rstd, rank))
    dscale = ctx.reduce_sum(ctx.emit("Mul", g, xhat), axes, keepdims=False)
    dmean = ctx.emit("Neg", ctx.emit("Mul", dbias, gain))
    # dy/dvar = -scale (x - mean) (var + eps)^(-3/2) / 2 = -gain xhat rstd / 2
    dvar = ctx.emit(
        "Mul", dscale, ctx.emit("Mul", gain, ctx.emit("Mul", rstd, ctx.scalar(-0.5, var)))
    )
    dx = ctx.emit("Mul", g, _per_channel(ctx, gain, rank))
    return [dx, dscale, dbias, dmean, dvar]


def _normalized_backward(
    ctx: VjpContext,
    x: str,
    dxhat: str,
    axes: Sequence[int],
    epsilon: float,
    typed_like: str | None = None,
) -> tuple[str, str]:
    """Input gradient of ``xhat = (x - mean) / sqrt(var + eps)`` over ``axes``, and ``xhat``.

    Constants take the type of ``typed_like`` (``x`` by default; a reshaped ``x`` has no
    static type).
    ``dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))``, statistics recomputed here.
    """
    axes_const = ctx.ints(axes)
    mean = ctx.emit("ReduceMean", x, axes_const)
    centered = ctx.emit("Sub", x, mean)
    var = ctx.emit("ReduceMean", ctx.emit("Mul", centered, centered), axes_const)
    eps = ctx.scalar(epsilon, typed_like or x)
    rstd = ctx.emit("Reciprocal", ctx.emit("Sqrt", ctx.emit("Add", var, eps)))
    xhat = ctx.emit("Mul", centered, rstd)
    mean_d = ctx.emit("ReduceMean", dxhat, axes_const)
    mean_dx = ctx.emit("ReduceMean", ctx.emit("Mul", dxhat, xhat), axes_const)
    inner = ctx.emit("Sub", ctx.emit("Sub", dxhat, mean_d), ctx.emit("Mul", xhat, mean_dx))
    return ctx.emit("Mul", rstd, inner), xhat


@register("LayerNormalization")
def layer_normalization(ctx: VjpContext) -> Grads:
    if any(g is not None for g in ctx.grads[1:]):
        raise ctx.unsupported("gradients through its Mean / InvStdDev outputs are not supported")
    x, scale = ctx.inputs[:2]
    g = ctx.grad
    rank = ctx.rank(x)
    axes = list(range(ctx.attr("axis", -1) % rank, rank))
    dx, xhat = _normalized_backward(
        ctx, x, ctx.emit("Mul", g, scale), axes, ctx.attr("epsilon", 1e-5)
    )
    grads: Grads = [dx, ctx.unbroadcast(ctx.emit("Mul", g, xhat), scale)]
    if ctx.has_input(2):
        grads.append(ctx.unbroadcast(g, ctx.inputs[2]))
    return grads


@register("InstanceNormalization")
def instance_normalization(ctx: VjpContext) -> Grads:
    x, scale, _ = ctx.inputs
    g = ctx.grad
    rank = ctx.rank(x)
    dxhat = ctx.emit("Mul", g, _per_channel(ctx, scale, rank))
    dx, xhat = _normalized_backward(ctx, x, dxhat, list(range(2, rank)), ctx.attr("epsilon", 1e-5))
    axes = [0, *range(2, rank)]
    return [
        dx,
        ctx.reduce_sum(ctx.emit("Mul", g, xhat), axes, keepdims=False),
        ctx.reduce_sum(g, axes, keepdims=False),
    ]


def _channel_window_sum(
    ctx: VjpContext, t: str, before: int, after: int, size: int, channels: int
) -> str:
    """``sum_{j=-before}^{after} t[:, c + j]`` with zeros outside the channel range."""
    padded = ctx.emit("Pad", t, ctx.ints([before, after]), "", ctx.ints([1]))
    parts = [
        ctx.emit("Slice", padded, ctx.ints([j]), ctx.ints([j + channels]), ctx.ints([1]))
        for j in range(size)
    ]
    return parts[0] if size == 1 else ctx.emit("Sum", *parts)


@register("LRN")
def lrn(ctx: VjpContext) -> Grads:
    """y = x s^-beta, s = bias + alpha/size * (window sum of x^2 over channels)."""
    x, g = ctx.inputs[0], ctx.grad
    size = int(ctx.attr("size"))
    alpha, beta, bias = ctx.attr("alpha", 1e-4), ctx.attr("beta", 0.75), ctx.attr("bias", 1.0)
    channels = ctx.static_dims(x, [1])[0]
    low = (size - 1) // 2
    high = size - 1 - low
    squares = _channel_window_sum(ctx, ctx.emit("Mul", x, x), low, high, size, channels)
    s = ctx.emit("Add", ctx.scalar(bias, x), ctx.emit("Mul", squares, ctx.scalar(alpha / size, x)))
    s_beta = ctx.emit("Pow", s, ctx.scalar(-beta, x))
    # Through s: the window's adjoint sums over the mirrored window (before/after swapped).
    t = ctx.emit("Div", ctx.emit("Mul", ctx.emit("Mul", g, x), s_beta), s)
    back = _channel_window_sum(ctx, t, high, low, size, channels)
    through_s = ctx.emit("Mul", ctx.emit("Mul", x, back), ctx.scalar(2.0 * alpha * beta / size, x))
    return [ctx.emit("Sub", ctx.emit("Mul", g, s_beta), through_s)]


@register("GroupNormalization")
def group_normalization(ctx: VjpContext) -> Grads:
    """Normalisation over groups of channels, then a per-channel (opset 21) or per-group
    (opset 18) scale and bias; which one is read from the scale's length."""
    x, scale = ctx.inputs[:2]
    g = ctx.grad
    rank = ctx.rank(x)
    groups = int(ctx.attr("num_groups"))
    channels = ctx.static_dims(x, [1])[0]
    (length,) = ctx.static_dims(scale)
    if length not in (channels, groups):
        raise ctx.unsupported(f"its scale has {length} entries for {channels} channels")
    per_group = length != channels

    def per_channel(p: str) -> str:  # a per-group parameter repeated over its channels
        if not per_group:
            return p
        tiled = ctx.emit("Expand", ctx.unsqueeze(p, [1]), ctx.ints([groups, channels // groups]))
        return ctx.emit("Reshape", tiled, ctx.ints([channels]))

    def group_sums(t: str) -> str:  # (C,) summed within each group when per group
        if not per_group:
            return t
        return ctx.reduce_sum(ctx.emit("Reshape", t, ctx.ints([groups, -1])), [1], False)

    grouped = ctx.ints([0, groups, -1])
    dxhat = ctx.emit("Mul", g, _per_channel(ctx, per_channel(scale), rank))
    dx, xhat = _normalized_backward(
        ctx,
        ctx.emit("Reshape", x, grouped),
        ctx.emit("Reshape", dxhat, grouped),
        [2],
        ctx.attr("epsilon", 1e-5),
        typed_like=x,
    )
    axes = [0, *range(2, rank)]
    xhat = ctx.reshape_like(xhat, x)
    return [
        ctx.reshape_like(dx, x),
        group_sums(ctx.reduce_sum(ctx.emit("Mul", g, xhat), axes, keepdims=False)),
        group_sums(ctx.reduce_sum(g, axes, keepdims=False)),
    ]
