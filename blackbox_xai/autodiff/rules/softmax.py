"""Softmax and LogSoftmax along one axis (opset >= 13 semantics; older models are upgraded,
and the converter rewrites their flatten-to-2-D semantics into standard nodes)."""

from __future__ import annotations

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


@register("Softmax")
def softmax(ctx: VjpContext) -> Grads:
    g, y = ctx.grad, ctx.outputs[0]
    axis = ctx.attr("axis", -1)
    # dx = y * (g - sum(g * y))
    inner = ctx.reduce_sum(ctx.emit("Mul", g, y), [axis])
    return [ctx.emit("Mul", y, ctx.emit("Sub", g, inner))]


@register("LogSoftmax")
def log_softmax(ctx: VjpContext) -> Grads:
    g, y = ctx.grad, ctx.outputs[0]
    axis = ctx.attr("axis", -1)
    # dx = g - softmax(x) * sum(g)
    total = ctx.reduce_sum(g, [axis])
    return [ctx.emit("Sub", g, ctx.emit("Mul", ctx.emit("Exp", y), total))]
