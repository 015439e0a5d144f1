"""Matrix products: MatMul (numpy semantics: 1-D operands, broadcast batch axes) and Gemm."""

from __future__ import annotations

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


def _swap_last_two(ctx: VjpContext, x: str, rank: int) -> str:
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return ctx.emit("Transpose", x, perm=perm)


@register("MatMul")
def matmul(ctx: VjpContext) -> Grads:
    a, b = ctx.inputs
    g, y = ctx.grad, ctx.outputs[0]
    ra, rb = ctx.rank(a), ctx.rank(b)
    if ra == 1 and rb == 1:  # dot product: y is a scalar
        return [ctx.emit("Mul", g, b), ctx.emit("Mul", g, a)]
    a_shape, b_shape, y_shape = ctx.shape(a), ctx.shape(b), ctx.shape(y)
    assert a_shape is not None and b_shape is not None
    # Promote 1-D operands to matrices, as MatMul does, and give g the matching axis.
    a2 = a if ra > 1 else ctx.unsqueeze(a, [0])
    b2 = b if rb > 1 else ctx.unsqueeze(b, [1])
    g2 = g if ra > 1 else ctx.unsqueeze(g, [-2])
    g2 = g2 if rb > 1 else ctx.unsqueeze(g2, [-1])
    da = ctx.emit("MatMul", g2, _swap_last_two(ctx, b2, max(rb, 2)))
    db = ctx.emit("MatMul", _swap_last_two(ctx, a2, max(ra, 2)), g2)
    da = da if ra > 1 else ctx.emit("Squeeze", da, ctx.ints([-2]))
    db = db if rb > 1 else ctx.emit("Squeeze", db, ctx.ints([-1]))
    # Broadcast batch axes of y; the operands' gradients are summed over the ones they lack.
    n_batch = max(ra, rb, 2) - 2
    batch = (None,) * n_batch if y_shape is None else tuple(y_shape[:n_batch])
    return [
        ctx.unbroadcast(da, a, g_shape=(*batch, *a_shape[-2:])),
        ctx.unbroadcast(db, b, g_shape=(*batch, *b_shape[-2:])),
    ]


@register("Gemm")
def gemm(ctx: VjpContext) -> Grads:
    """y = alpha op(A) op(B) + beta C, with op = transpose when transA / transB."""
    a, b = ctx.inputs[:2]
    g = ctx.grad
    alpha, beta = ctx.attr("alpha", 1.0), ctx.attr("beta", 1.0)
    trans_a, trans_b = ctx.attr("transA", 0), ctx.attr("transB", 0)
    if trans_a:
        da = ctx.emit("Gemm", b, g, alpha=alpha, transA=trans_b, transB=1)
    else:
        da = ctx.emit("Gemm", g, b, alpha=alpha, transB=1 - trans_b)
    if trans_b:
        db = ctx.emit("Gemm", g, a, alpha=alpha, transA=1, transB=trans_a)
    else:
        db = ctx.emit("Gemm", a, g, alpha=alpha, transA=1 - trans_a)
    grads: Grads = [da, db]
    if ctx.has_input(2):
        c = ctx.inputs[2]
        grads.append(ctx.unbroadcast(ctx.emit("Mul", g, ctx.scalar(beta, c)), c))
    return grads
