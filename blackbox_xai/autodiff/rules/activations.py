"""Activation functions: Relu and Clip(0, c) (standard, guided, deconv), LeakyRelu, PRelu,
Elu, Selu, Sigmoid, Tanh, Softplus, Softsign, HardSigmoid, HardSwish, Clip, Gelu, Mish,
ThresholdedRelu."""

from __future__ import annotations

import math

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


@register("Relu")
def relu(ctx: VjpContext) -> Grads:
    x, g = ctx.inputs[0], ctx.grad
    if ctx.relu_rule == "deconv":  # DeconvNet: ReLU applied to the gradient only
        return [ctx.emit("Relu", g)]
    if ctx.relu_rule == "guided":  # guided backprop: positive gradients through positive inputs
        g = ctx.emit("Relu", g)
    return [ctx.where_positive(x, g, x)]


@register("LeakyRelu")
def leaky_relu(ctx: VjpContext) -> Grads:
    x, g = ctx.inputs[0], ctx.grad
    slope = ctx.emit("Mul", g, ctx.scalar(ctx.attr("alpha", 0.01), x))
    return [ctx.emit("Where", ctx.emit("Greater", x, ctx.scalar(0.0, x)), g, slope)]


@register("PRelu")
def prelu(ctx: VjpContext) -> Grads:
    x, slope = ctx.inputs
    g, zero = ctx.grad, ctx.scalar(0.0, x)
    positive = ctx.emit("Greater", x, zero)
    dx = ctx.emit("Where", positive, g, ctx.emit("Mul", g, slope))
    dslope = ctx.emit("Where", positive, zero, ctx.emit("Mul", g, x))
    return [dx, ctx.unbroadcast(dslope, slope)]


@register("Elu")
def elu(ctx: VjpContext) -> Grads:
    x, g, y = ctx.inputs[0], ctx.grad, ctx.outputs[0]
    # for x <= 0, y = alpha (e^x - 1), so dy/dx = y + alpha
    negative_part = ctx.emit("Mul", g, ctx.emit("Add", y, ctx.scalar(ctx.attr("alpha", 1.0), x)))
    return [ctx.emit("Where", ctx.emit("Greater", x, ctx.scalar(0.0, x)), g, negative_part)]


@register("Selu")
def selu(ctx: VjpContext) -> Grads:
    x, g, y = ctx.inputs[0], ctx.grad, ctx.outputs[0]
    alpha = ctx.attr("alpha", 1.67326319217681884765625)
    gamma = ctx.attr("gamma", 1.05070102214813232421875)
    positive_part = ctx.emit("Mul", g, ctx.scalar(gamma, x))
    negative_part = ctx.emit("Mul", g, ctx.emit("Add", y, ctx.scalar(alpha * gamma, x)))
    return [
        ctx.emit("Where", ctx.emit("Greater", x, ctx.scalar(0.0, x)), positive_part, negative_part)
    ]


@register("Sigmoid")
def sigmoid(ctx: VjpContext) -> Grads:
    y = ctx.outputs[0]
    slope = ctx.emit("Mul", y, ctx.emit("Sub", ctx.scalar(1.0, y), y))
    return ctx.chain(slope)


@register("Tanh")
def tanh(ctx: VjpContext) -> Grads:
    y = ctx.outputs[0]
    slope = ctx.emit("Sub", ctx.scalar(1.0, y), ctx.emit("Mul", y, y))
    return ctx.chain(slope)


@register("Softplus")
def softplus(ctx: VjpContext) -> Grads:
    return ctx.chain(ctx.emit("Sigmoid", ctx.inputs[0]))


@register("Softsign")
def softsign(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    denominator = ctx.emit("Add", ctx.scalar(1.0, x), ctx.emit("Abs", x))
    return [ctx.emit("Div", ctx.grad, ctx.emit("Mul", denominator, denominator))]


def _inside_unit_interval(ctx: VjpContext, t: str) -> str:
    """Boolean mask of ``0 < t < 1`` (where a hard sigmoid is not saturated)."""
    x = ctx.inputs[0]  # t has x's type
    above = ctx.emit("Greater", t, ctx.scalar(0.0, x))
    return ctx.emit("And", above, ctx.emit("Less", t, ctx.scalar(1.0, x)))


@register("HardSigmoid")
def hard_sigmoid(ctx: VjpContext) -> Grads:
    y, g = ctx.outputs[0], ctx.grad
    slope = ctx.emit("Mul", g, ctx.scalar(ctx.attr("alpha", 0.2), y))
    return [ctx.masked(_inside_unit_interval(ctx, y), slope, y)]


@register("HardSwish")
def hard_swish(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    # y = x h(x), h = clip(x/6 + 1/2, 0, 1): dy/dx = h + x/6 where h is not saturated
    h = ctx.emit("HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5)
    ramp = ctx.emit("Mul", x, ctx.scalar(1.0 / 6.0, x))
    slope = ctx.emit("Add", h, ctx.masked(_inside_unit_interval(ctx, h), ramp, x))
    return ctx.chain(slope)


@register("Clip", inputs=(0,))
def clip(ctx: VjpContext) -> Grads:
    """Gradient where ``min <= x <= max`` (both ends included, like torch.clamp).

    ``Clip(x, 0, c)`` (ReLU6 and other capped ReLUs) follows the ReLU rule: guided
    backprop keeps the positive gradients where the clip passes ``x``; DeconvNet passes
    the positive gradients whatever ``x`` is.
    """
    x, g = ctx.inputs[0], ctx.grad
    low = ctx.value(1)
    if ctx.relu_rule != "standard" and low is not None and low.size == 1 and float(low) == 0.0:
        g = ctx.emit("Relu", g)
        if ctx.relu_rule == "deconv":
            return [g]
    mask = None
    for i, op in ((1, "GreaterOrEqual"), (2, "LessOrEqual")):
        if ctx.has_input(i):
            inside = ctx.emit(op, x, ctx.inputs[i])
            mask = inside if mask is None else ctx.emit("And", mask, inside)
    if mask is None:
        return [g]
    return [ctx.masked(mask, g, x)]


@register("ThresholdedRelu")
def thresholded_relu(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    above = ctx.emit("Greater", x, ctx.scalar(ctx.attr("alpha", 1.0), x))
    return [ctx.masked(above, ctx.grad, x)]


@register("Gelu")
def gelu(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    if ctx.attr("approximate", "none") == "tanh":
        # y = x/2 (1 + tanh(u)), u = c (x + k x^3): dy/dx = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3k x^2)
        c, k = math.sqrt(2.0 / math.pi), 0.044715
        x2 = ctx.emit("Mul", x, x)
        inner = ctx.emit("Add", ctx.scalar(1.0, x), ctx.emit("Mul", x2, ctx.scalar(k, x)))
        t = ctx.emit("Tanh", ctx.emit("Mul", ctx.emit("Mul", x, inner), ctx.scalar(c, x)))
        du = ctx.emit("Add", ctx.scalar(c, x), ctx.emit("Mul", x2, ctx.scalar(3.0 * k * c, x)))
        sech2 = ctx.emit("Sub", ctx.scalar(1.0, x), ctx.emit("Mul", t, t))
        half_x = ctx.emit("Mul", x, ctx.scalar(0.5, x))
        slope = ctx.emit(
            "Add",
            ctx.emit("Mul", ctx.emit("Add", ctx.scalar(1.0, x), t), ctx.scalar(0.5, x)),
            ctx.emit("Mul", half_x, ctx.emit("Mul", sech2, du)),
        )
    else:
        # y = x Phi(x): dy/dx = Phi(x) + x phi(x)
        cdf = ctx.emit(
            "Mul",
            ctx.emit(
                "Add",
                ctx.scalar(1.0, x),
                ctx.emit("Erf", ctx.emit("Mul", x, ctx.scalar(math.sqrt(0.5), x))),
            ),
            ctx.scalar(0.5, x),
        )
        pdf = ctx.emit(
            "Mul",
            ctx.emit("Exp", ctx.emit("Mul", ctx.emit("Mul", x, x), ctx.scalar(-0.5, x))),
            ctx.scalar(1.0 / math.sqrt(2.0 * math.pi), x),
        )
        slope = ctx.emit("Add", cdf, ctx.emit("Mul", x, pdf))
    return ctx.chain(slope)


@register("Mish")
def mish(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    # y = x tanh(softplus(x)): dy/dx = t + x (1 - t^2) sigmoid(x)
    t = ctx.emit("Tanh", ctx.emit("Softplus", x))
    sech2 = ctx.emit("Sub", ctx.scalar(1.0, x), ctx.emit("Mul", t, t))
    slope = ctx.emit("Add", t, ctx.emit("Mul", x, ctx.emit("Mul", sech2, ctx.emit("Sigmoid", x))))
    return ctx.chain(slope)
