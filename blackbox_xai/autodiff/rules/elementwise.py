"""Arithmetic and elementwise math: Add ... Pow, Sqrt, Exp, Log, Abs, Erf, Sum, Min/Max, Where."""

from __future__ import annotations

import math

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


@register("Add")
def add(ctx: VjpContext) -> Grads:
    return [ctx.unbroadcast(ctx.grad, x) for x in ctx.inputs]


@register("Sub")
def sub(ctx: VjpContext) -> Grads:
    a, b = ctx.inputs
    return [ctx.unbroadcast(ctx.grad, a), ctx.unbroadcast(ctx.emit("Neg", ctx.grad), b)]


@register("Mul")
def mul(ctx: VjpContext) -> Grads:
    a, b = ctx.inputs
    g = ctx.grad
    return [ctx.unbroadcast(ctx.emit("Mul", g, b), a), ctx.unbroadcast(ctx.emit("Mul", g, a), b)]


@register("Div")
def div(ctx: VjpContext) -> Grads:
    a, b = ctx.inputs
    g, y = ctx.grad, ctx.outputs[0]
    # d(a/b)/db = -a/b^2 = -y/b
    db = ctx.emit("Neg", ctx.emit("Mul", g, ctx.emit("Div", y, b)))
    return [ctx.unbroadcast(ctx.emit("Div", g, b), a), ctx.unbroadcast(db, b)]


@register("Neg")
def neg(ctx: VjpContext) -> Grads:
    return [ctx.emit("Neg", ctx.grad)]


@register("Pow")
def pow_(ctx: VjpContext) -> Grads:
    a, b = ctx.inputs
    g, y = ctx.grad, ctx.outputs[0]
    a_type = ctx.info(a).elem_type
    b_float = b if ctx.info(b).elem_type == a_type else ctx.emit("Cast", b, to=a_type)
    # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log(a), taken as 0 where a <= 0 (like torch at 0).
    da = ctx.emit(
        "Mul",
        g,
        ctx.emit("Mul", b_float, ctx.emit("Pow", a, ctx.emit("Sub", b_float, ctx.scalar(1.0, a)))),
    )
    grads: Grads = [ctx.unbroadcast(da, a), None]
    if ctx.needs(1):
        positive = ctx.emit("Greater", a, ctx.scalar(0.0, a))
        log_a = ctx.emit("Log", ctx.emit("Where", positive, a, ctx.scalar(1.0, a)))
        grads[1] = ctx.unbroadcast(ctx.emit("Mul", g, ctx.emit("Mul", y, log_a)), b)
    return grads


@register("Sqrt")
def sqrt(ctx: VjpContext) -> Grads:
    g, y = ctx.grad, ctx.outputs[0]
    return [ctx.emit("Div", ctx.emit("Mul", g, ctx.scalar(0.5, y)), y)]


@register("Exp")
def exp(ctx: VjpContext) -> Grads:
    return ctx.chain(ctx.outputs[0])


@register("Log")
def log(ctx: VjpContext) -> Grads:
    return [ctx.emit("Div", ctx.grad, ctx.inputs[0])]


@register("Reciprocal")
def reciprocal(ctx: VjpContext) -> Grads:
    y = ctx.outputs[0]
    return [ctx.emit("Neg", ctx.emit("Mul", ctx.grad, ctx.emit("Mul", y, y)))]


@register("Abs")
def abs_(ctx: VjpContext) -> Grads:
    return ctx.chain(ctx.emit("Sign", ctx.inputs[0]))


@register("Erf")
def erf(ctx: VjpContext) -> Grads:
    x = ctx.inputs[0]
    gauss = ctx.emit("Exp", ctx.emit("Neg", ctx.emit("Mul", x, x)))
    return [
        ctx.emit("Mul", ctx.grad, ctx.emit("Mul", gauss, ctx.scalar(2.0 / math.sqrt(math.pi), x)))
    ]


@register("Sin")
def sin(ctx: VjpContext) -> Grads:
    return ctx.chain(ctx.emit("Cos", ctx.inputs[0]))


@register("Cos")
def cos(ctx: VjpContext) -> Grads:
    return [ctx.emit("Neg", ctx.emit("Mul", ctx.grad, ctx.emit("Sin", ctx.inputs[0])))]


@register("Sign", "Floor", "Ceil", "Round")
def piecewise_constant(ctx: VjpContext) -> Grads:
    """Zero almost everywhere: no gradient flows back."""
    return [None]


@register("Sum")
def sum_(ctx: VjpContext) -> Grads:
    return [ctx.unbroadcast(ctx.grad, x) for x in ctx.inputs]


@register("Mean")
def mean(ctx: VjpContext) -> Grads:
    share = ctx.emit("Mul", ctx.grad, ctx.scalar(1.0 / len(ctx.inputs), ctx.outputs[0]))
    return [ctx.unbroadcast(share, x) for x in ctx.inputs]


@register("Max", "Min")
def extremum(ctx: VjpContext) -> Grads:
    """The gradient goes to the inputs equal to the result, split evenly between ties."""
    g, y = ctx.grad, ctx.outputs[0]
    if len(ctx.inputs) == 1:
        return [g]
    masks = [ctx.equal_mask(y, x) for x in ctx.inputs]
    share = ctx.emit("Div", g, ctx.emit("Sum", *masks))
    return [
        ctx.unbroadcast(ctx.emit("Mul", share, m), x)
        for m, x in zip(masks, ctx.inputs, strict=True)
    ]


@register("Where", inputs=(1, 2))
def where(ctx: VjpContext) -> Grads:
    condition, a, b = ctx.inputs
    g, zero = ctx.grad, ctx.scalar(0.0, ctx.outputs[0])
    return [
        None,
        ctx.unbroadcast(ctx.emit("Where", condition, g, zero), a),
        ctx.unbroadcast(ctx.emit("Where", condition, zero, g), b),
    ]
