"""Data movement: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
Gather, GatherElements, GatherND, Expand, Tile, Pad, Identity, Dropout, Cast, CastLike,
and the shape-only EyeLike, RandomNormalLike and RandomUniformLike.

Ops that pick input elements (Slice, Tile, Pad by reflection, Gather...) share one rule:
replay the node on an index map of the input and scatter-add the gradient back.
"""

from __future__ import annotations

import numpy as np

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


@register("Reshape", "Flatten", "Squeeze", "Unsqueeze", inputs=(0,))
def reshape(ctx: VjpContext) -> Grads:
    return [ctx.reshape_like(ctx.grad, ctx.inputs[0])]


@register("Identity")
def identity(ctx: VjpContext) -> Grads:
    return [ctx.grad]


@register("Dropout", inputs=(0,))
def dropout(ctx: VjpContext) -> Grads:
    """Inference-mode dropout is the identity."""
    training = ctx.value(2)
    if ctx.has_input(2) and (training is None or bool(training)):
        raise ctx.unsupported(
            "only inference mode is supported (training_mode must be a constant false)"
        )
    return [ctx.grad]


@register("Cast", "CastLike", inputs=(0,), ignored=(1,))
def cast(ctx: VjpContext) -> Grads:
    return [ctx.emit("Cast", ctx.grad, to=ctx.info(ctx.inputs[0]).elem_type or 1)]


@register("Transpose")
def transpose(ctx: VjpContext) -> Grads:
    perm = ctx.attr("perm")
    if not perm:  # the default reverses the axes, so it needs the rank
        perm = list(range(ctx.rank(ctx.inputs[0]) - 1, -1, -1))
    return [ctx.emit("Transpose", ctx.grad, perm=[int(i) for i in np.argsort(perm)])]


@register("EyeLike", "RandomNormalLike", "RandomUniformLike", ignored=(0,))
def shape_only(ctx: VjpContext) -> Grads:
    """Ops that read only their input's shape and type: its values get no gradient."""
    return [None]


@register("Expand", inputs=(0,))
def expand(ctx: VjpContext) -> Grads:
    return [ctx.unbroadcast(ctx.grad, ctx.inputs[0])]


@register("Concat")
def concat(ctx: VjpContext) -> Grads:
    y = ctx.outputs[0]
    axis = ctx.attr("axis") % ctx.rank(y)
    sizes = [(ctx.shape(x) or [None] * (axis + 1))[axis] for x in ctx.inputs]
    if all(isinstance(s, int) for s in sizes):
        split = ctx.ints(sizes)
    else:
        parts = [
            ctx.emit("Slice", ctx.shape_of(x), ctx.ints([axis]), ctx.ints([axis + 1]))
            for x in ctx.inputs
        ]
        split = ctx.emit("Concat", *parts, axis=0)
    return list(ctx.emit_n("Split", [ctx.grad, split], len(ctx.inputs), axis=axis))


@register("Split", inputs=(0,))
def split(ctx: VjpContext) -> Grads:
    axis = ctx.attr("axis", 0)
    parts = [
        g if g is not None else ctx.zeros_like(y)
        for g, y in zip(ctx.grads, ctx.outputs, strict=True)
    ]
    return [ctx.emit("Concat", *parts, axis=axis)]


@register("Slice", "Tile", "GatherElements", "GatherND", inputs=(0,))
def select(ctx: VjpContext) -> Grads:
    return [ctx.through_index_map(0)]


@register("Gather", inputs=(0,))
def gather(ctx: VjpContext) -> Grads:
    data, indices = ctx.inputs
    if ctx.attr("axis", 0) % ctx.rank(data) != 0:
        return [ctx.through_index_map(0)]
    # Rows of data (e.g. embeddings): scatter-add g into zeros, without an index map.
    indices = ctx.emit("Cast", indices, to=7)  # int64
    rows = ctx.emit("Gather", ctx.shape_of(data), ctx.const(np.int64(0)))  # a scalar
    negative = ctx.emit("Less", indices, ctx.const(np.int64(0)))
    indices = ctx.emit("Where", negative, ctx.emit("Add", indices, rows), indices)
    positions = ctx.unsqueeze(indices, [-1])
    return [ctx.emit("ScatterND", ctx.zeros_like(data), positions, ctx.grad, reduction="add")]


@register("Pad", inputs=(0,))
def pad(ctx: VjpContext) -> Grads:
    if ctx.attr("mode", "constant") == "constant":
        # Padding by -pads crops what was added and zero-fills what was cropped.
        axes = [ctx.inputs[3]] if ctx.has_input(3) else []
        return [ctx.emit("Pad", ctx.grad, ctx.emit("Neg", ctx.inputs[1]), "", *axes)]
    # reflect / edge / wrap repeat input elements: scatter back through the index map.
    x = ctx.inputs[0]
    selected = ctx.replay({0: ctx.index_map(x), 2: ""})
    return [ctx.scatter_add(ctx.grad, selected, x)]
