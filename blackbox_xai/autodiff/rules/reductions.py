"""Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1,
ReduceL2, ReduceLogSumExp, and CumSum."""

from __future__ import annotations

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


class _Reduction:
    """Which axes a reduction node reduces, and its adjoint broadcast back to the input."""

    def __init__(self, ctx: VjpContext) -> None:
        self.ctx = ctx
        self.x, self.y = ctx.inputs[0], ctx.outputs[0]
        self.keepdims = bool(ctx.attr("keepdims", 1))
        self.axes: list[int] | None  # None: given at run time by input 1
        axes = ctx.value(1)
        if ctx.has_input(1) and axes is None:
            if not self.keepdims:
                raise ctx.unsupported("axes computed at run time need keepdims=1")
            self.axes = None
        elif axes is None or axes.size == 0:
            no_op = bool(ctx.attr("noop_with_empty_axes", 0))
            self.axes = [] if no_op else list(range(ctx.rank(self.x)))
        else:
            rank = ctx.rank(self.x)
            self.axes = sorted(int(a) % rank for a in axes.ravel())

    def kept(self, t: str) -> str:
        """``t`` (shaped like y) with the reduced axes restored as size 1."""
        if self.keepdims:
            return t
        assert self.axes is not None
        return self.ctx.unsqueeze(t, self.axes)

    def sum_over_axes(self, t: str) -> str:
        """``t`` (shaped like x) summed over the reduced axes, keepdims."""
        ctx = self.ctx
        if self.axes is None:  # empty axes at run time reduce nothing with noop_with_empty_axes
            noop = int(ctx.attr("noop_with_empty_axes", 0))
            return ctx.emit("ReduceSum", t, ctx.inputs[1], keepdims=1, noop_with_empty_axes=noop)
        return ctx.reduce_sum(t, self.axes, keepdims=True)


@register("ReduceSum", inputs=(0,))
def reduce_sum(ctx: VjpContext) -> Grads:
    r = _Reduction(ctx)
    return [ctx.expand_like(r.kept(ctx.grad), r.x)]


@register("ReduceMean", inputs=(0,))
def reduce_mean(ctx: VjpContext) -> Grads:
    r = _Reduction(ctx)
    share = ctx.emit("Mul", r.kept(ctx.grad), ctx.size_ratio(r.y, r.x))
    return [ctx.expand_like(share, r.x)]


@register("ReduceMax", "ReduceMin", inputs=(0,))
def reduce_extremum(ctx: VjpContext) -> Grads:
    """The gradient goes to the elements equal to the result, split evenly between ties."""
    r = _Reduction(ctx)
    return [ctx.split_among_ties(r.x, r.kept(r.y), r.kept(ctx.grad), r.sum_over_axes)]


@register("ReduceSumSquare", inputs=(0,))
def reduce_sum_square(ctx: VjpContext) -> Grads:
    r = _Reduction(ctx)
    twice = ctx.emit("Mul", r.x, ctx.scalar(2.0, r.x))
    return [ctx.emit("Mul", twice, r.kept(ctx.grad))]


@register("ReduceL1", inputs=(0,))
def reduce_l1(ctx: VjpContext) -> Grads:
    r = _Reduction(ctx)
    return [ctx.emit("Mul", ctx.emit("Sign", r.x), r.kept(ctx.grad))]


@register("ReduceL2", inputs=(0,))
def reduce_l2(ctx: VjpContext) -> Grads:
    """x / ||x|| (zero where the norm is zero, as the whole slice is zero there)."""
    r = _Reduction(ctx)
    norm = r.kept(r.y)
    positive = ctx.emit("Greater", norm, ctx.scalar(0.0, r.x))
    safe = ctx.emit("Where", positive, norm, ctx.scalar(1.0, r.x))
    return [ctx.emit("Mul", ctx.emit("Div", r.x, safe), r.kept(ctx.grad))]


@register("ReduceLogSumExp", inputs=(0,))
def reduce_log_sum_exp(ctx: VjpContext) -> Grads:
    r = _Reduction(ctx)
    weights = ctx.emit("Exp", ctx.emit("Sub", r.x, r.kept(r.y)))
    return [ctx.emit("Mul", weights, r.kept(ctx.grad))]


@register("CumSum", inputs=(0,))
def cumsum(ctx: VjpContext) -> Grads:
    """The adjoint of a running sum is the running sum in the other direction."""
    reverse = 1 - int(ctx.attr("reverse", 0))
    return [
        ctx.emit(
            "CumSum", ctx.grad, ctx.inputs[1], exclusive=ctx.attr("exclusive", 0), reverse=reverse
        )
    ]
