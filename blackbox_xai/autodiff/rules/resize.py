"""Resize (nearest, linear, cubic; every coordinate transformation mode).

Resize is linear in its input and separable: along each resized axis the output is
``M @ x`` for an (out, in) interpolation matrix ``M``, so the input gradient is
``M^T @ g`` axis by axis. ``M`` is obtained exactly by resizing the identity matrix with
ONNX's reference implementation, so every mode follows the specification.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...utils.optional import import_optional
from ..context import VjpContext
from ..registry import register

Grads = list[str | None]

# Attributes that shape the interpolation along one axis.
_AXIS_ATTRIBUTES = (
    "antialias",
    "coordinate_transformation_mode",
    "cubic_coeff_a",
    "exclude_outside",
    "mode",
    "nearest_mode",
)


def interpolation_matrix(
    in_size: int,
    out_size: int,
    scale: float | None,
    roi: tuple[float, float] | None,
    attrs: dict[str, Any],
) -> np.ndarray:
    """The (out_size, in_size) matrix of a 1-D Resize (``scale`` None: resize to out_size)."""
    onnx = import_optional("onnx")
    reference = import_optional("onnx.reference")
    helper, tp = onnx.helper, onnx.TensorProto
    inputs = ["x", "roi", "scales", ""] if scale is not None else ["x", "roi", "", "sizes"]
    inits = [
        helper.make_tensor(
            "roi", tp.FLOAT, [4] if roi else [0], [0.0, roi[0], 1.0, roi[1]] if roi else []
        )
    ]
    if scale is not None:
        inits.append(helper.make_tensor("scales", tp.FLOAT, [2], [1.0, scale]))
    else:
        inits.append(helper.make_tensor("sizes", tp.INT64, [2], [in_size, out_size]))
    node = helper.make_node("Resize", inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "interpolation",
        [helper.make_tensor_value_info("x", tp.DOUBLE, [in_size, in_size])],
        [helper.make_tensor_value_info("y", tp.DOUBLE, None)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    resized = reference.ReferenceEvaluator(model).run(None, {"x": np.eye(in_size)})[0]
    return np.asarray(resized).T


@register("Resize", inputs=(0,))
def resize(ctx: VjpContext) -> Grads:
    x, y = ctx.inputs[0], ctx.outputs[0]
    rank = ctx.rank(x)
    for i, what in ((1, "roi"), (2, "scales"), (3, "sizes")):
        if ctx.has_input(i):
            ctx.required_value(i, what)
    roi, scales, sizes = ctx.value(1), ctx.value(2), ctx.value(3)
    axes = [a % rank for a in ctx.attr("axes", list(range(rank)))]
    scale_of: dict[int, float | None] = {}
    if scales is not None and scales.size:
        scale_of = {a: float(s) for a, s in zip(axes, scales.ravel(), strict=True)}
    elif sizes is not None:
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        in_sizes = ctx.static_dims(x, axes)
        ratios = [float(s) / d for d, s in zip(in_sizes, sizes.ravel(), strict=True)]
        shared = {"not_larger": min, "not_smaller": max}.get(policy)
        scale_of = {a: (shared(ratios) if shared else None) for a in axes}
    roi_of: dict[int, tuple[float, float]] = {}
    if (
        roi is not None
        and roi.size
        and ctx.attr("coordinate_transformation_mode") == "tf_crop_and_resize"
    ):
        flat = roi.ravel()
        roi_of = {a: (float(flat[i]), float(flat[len(axes) + i])) for i, a in enumerate(axes)}
    attrs = {name: ctx.attr(name) for name in _AXIS_ATTRIBUTES if ctx.attr(name) is not None}
    attrs["extrapolation_value"] = 0.0  # a constant fill has no gradient
    g = ctx.grad
    for axis in reversed(axes):
        scale = scale_of.get(axis)
        if scale == 1.0 and axis not in roi_of:
            continue  # an axis left alone (batch, channels) may have any size
        (size_in,), (size_out,) = ctx.static_dims(x, [axis]), ctx.static_dims(y, [axis])
        if size_in == size_out and scale is None and axis not in roi_of:
            continue
        matrix = interpolation_matrix(size_in, size_out, scale, roi_of.get(axis), attrs)
        if matrix.shape != (size_out, size_in):
            raise ctx.unsupported(f"cannot reproduce its output size along axis {axis}")
        m = ctx.const(matrix.astype(ctx.dtype(x)))
        if axis == rank - 1:
            g = ctx.emit("MatMul", g, m)
        else:
            perm = [*range(axis), *range(axis + 1, rank), axis]
            moved = ctx.emit("MatMul", ctx.emit("Transpose", g, perm=perm), m)
            back = [*range(axis), rank - 1, *range(axis, rank - 1)]
            g = ctx.emit("Transpose", moved, perm=back)
    return [g]
