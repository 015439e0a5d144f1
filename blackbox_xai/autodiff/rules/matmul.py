"""Matrix products: MatMul (numpy semantics: 1-D operands, broadcast batch axes), Gemm
and Einsum."""

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


def _einsum_terms(ctx: VjpContext) -> tuple[list[str], str]:
    """The input subscripts and the (explicit) output subscripts of an Einsum equation."""
    equation = str(ctx.attr("equation")).replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if not arrow:  # implicit output: letters seen once, sorted, after any ellipsis
        letters = [c for t in terms for c in t.replace("...", "")]
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        rhs = ("..." if any("..." in t for t in terms) else "") + "".join(once)
    return terms, rhs


@register("Einsum")
def einsum(ctx: VjpContext) -> Grads:
    """The gradient of operand i is an Einsum of the output gradient with the other
    operands, written to operand i's subscripts.

    Letters only operand i has (summed over it alone) are broadcast back; ellipsis axes
    that operand i had of size 1 or lacked (broadcast in the forward pass) are summed.
    An operand that repeats a letter (a diagonal or trace) is not supported.
    """
    terms, out = _einsum_terms(ctx)
    g = ctx.grad
    grads: Grads = []
    for i, (x, term) in enumerate(zip(ctx.inputs, terms, strict=True)):
        if not ctx.needs(i):
            grads.append(None)
            continue
        letters = term.replace("...", "")
        if len(set(letters)) != len(letters):
            raise ctx.unsupported(f"operand {i} repeats a subscript ({term!r}: a diagonal)")
        others = [t for j, t in enumerate(terms) if j != i]
        seen = set(out + "".join(others))
        before, dots, after = term.partition("...")
        if dots and "..." not in out + "".join(others):
            raise ctx.unsupported(f"the ellipsis of operand {i} is summed over by it alone")
        kept = "".join(c for c in before if c in seen) + dots
        kept += "".join(c for c in after if c in seen)
        ellipsis_rank = max(
            (
                ctx.rank(name) - len(t.replace("...", ""))
                for name, t in zip(ctx.inputs, terms, strict=True)
                if "..." in t
            ),
            default=0,
        )
        # an operand without ellipsis broadcast against others that have one: the
        # gradient keeps the ellipsis (Einsum needs it), then sums it away
        summed = not dots and "..." in out + "".join(others)
        if summed:
            kept = "..." + kept
        equation = ",".join([out, *others]) + "->" + kept
        other_inputs = [name for j, name in enumerate(ctx.inputs) if j != i]
        grad = ctx.emit("Einsum", g, *other_inputs, equation=equation)
        if summed:
            grad = ctx.reduce_sum(grad, list(range(ellipsis_rank)), keepdims=False)
        lonely = [p for p, c in enumerate(before) if c not in seen]
        lonely += [p - len(after) for p, c in enumerate(after) if c not in seen]
        if lonely:
            grad = ctx.expand_like(ctx.unsqueeze(grad, lonely), x)
        if dots:
            grad = ctx.unbroadcast(grad, x, g_shape=[None] * (ellipsis_rank + len(letters)))
        grads.append(grad)
    return grads
