"""Convolution and pooling: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool,
GlobalMaxPool. Input gradients of (transposed) convolutions are the adjoint convolution."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]


class _Window:
    """Geometry of a sliding-window op along its spatial axes.

    ``static`` when shape inference knows the spatial sizes of input and output; the
    adjoint is then one exact ConvTranspose. Otherwise sizes are read at run time.
    """

    def __init__(
        self, ctx: VjpContext, x: str, y: str, kernel: Sequence[int] | None = None
    ) -> None:
        rank = ctx.rank(x)
        self.x = x
        self.n = rank - 2
        sizes = [list((ctx.shape(t) or [None] * rank)[2:]) for t in (x, y)]
        self.static = all(isinstance(d, int) for dims in sizes for d in dims)
        # spatial sizes of input and output (meaningful when static)
        self.inputs, self.outputs = sizes
        self.kernel = list(kernel if kernel is not None else ctx.attr("kernel_shape"))
        self.strides = list(ctx.attr("strides", [1] * self.n))
        self.dilations = list(ctx.attr("dilations", [1] * self.n))
        self.begins, self.ends = self._explicit_pads(ctx)

    def _explicit_pads(self, ctx: VjpContext) -> tuple[list[int], list[int]]:
        auto_pad = ctx.attr("auto_pad", "NOTSET")
        if auto_pad == "VALID":
            return [0] * self.n, [0] * self.n
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            if not self.static:
                raise ctx.needs_static(f"auto_pad={auto_pad} needs static spatial sizes")
            begins, ends = [], []
            for size, k, s, d in zip(
                self.inputs, self.kernel, self.strides, self.dilations, strict=True
            ):
                total = max(0, (-(-size // s) - 1) * s + (k - 1) * d + 1 - size)
                small, large = total // 2, total - total // 2
                begins.append(small if auto_pad == "SAME_UPPER" else large)
                ends.append(large if auto_pad == "SAME_UPPER" else small)
            return begins, ends
        pads = list(ctx.attr("pads", [0] * (2 * self.n)))
        return pads[: self.n], pads[self.n :]

    def transpose(self, ctx: VjpContext, g: str, w: str, group: int) -> str:
        """ConvTranspose of ``g`` by ``w`` back to the input's size: the window op's adjoint.

        A transposed convolution with the forward begin pads produces
        ``s (out - 1) + effective_kernel - begin + output_padding - end`` elements. With
        static sizes, end pads or an output padding (below the stride for every window
        that fits the input) make that exactly the input size. With run-time sizes, the
        full transposed convolution (output padding ``s - 1``, long enough whatever the
        size) is cropped to the input by Slice.
        """
        common = {"group": group, "strides": self.strides, "dilations": self.dilations}
        if self.static:
            ends, extra = [], []
            for size, out, k, s, d, b in zip(
                self.inputs,
                self.outputs,
                self.kernel,
                self.strides,
                self.dilations,
                self.begins,
                strict=True,
            ):
                surplus = size - s * (out - 1) - ((k - 1) * d + 1) + b
                ends.append(max(0, -surplus))
                extra.append(max(0, surplus))
            pads = [*self.begins, *ends]
            return ctx.emit("ConvTranspose", g, w, pads=pads, output_padding=extra, **common)
        full = ctx.emit(
            "ConvTranspose",
            g,
            w,
            pads=[0] * (2 * self.n),
            output_padding=[s - 1 for s in self.strides],
            **common,
        )
        rank = self.n + 2
        sizes = ctx.emit("Slice", ctx.shape_of(self.x), ctx.ints([2]), ctx.ints([rank]))
        stops = ctx.emit("Add", sizes, ctx.ints(self.begins))
        return ctx.emit("Slice", full, ctx.ints(self.begins), stops, ctx.ints(range(2, rank)))


@register("Conv", inputs=(0, 2))
def conv(ctx: VjpContext) -> Grads:
    x, w = ctx.inputs[:2]
    g = ctx.grad
    rank = ctx.rank(x)
    grads: Grads = [None, None]
    if ctx.needs(0):
        kernel = ctx.attr("kernel_shape") or ctx.static_dims(w, range(2, rank))
        window = _Window(ctx, x, ctx.outputs[0], kernel)
        # Conv's weight (M, C/group, k...) is laid out as ConvTranspose's (C_in, C_out/group, k...).
        grads[0] = window.transpose(ctx, g, w, ctx.attr("group", 1))
    if ctx.has_input(2):
        grads.append(ctx.reduce_sum(g, [0, *range(2, rank)], keepdims=False))
    return grads


@register("ConvTranspose", inputs=(0, 2))
def conv_transpose(ctx: VjpContext) -> Grads:
    """The adjoint of a transposed convolution is the convolution with the same weight."""
    x, w = ctx.inputs[:2]
    g = ctx.grad
    rank = ctx.rank(x)
    if ctx.attr("output_shape") is not None or ctx.attr("auto_pad", "NOTSET") != "NOTSET":
        raise ctx.unsupported("only explicit pads are supported (no output_shape or auto_pad)")
    n = rank - 2
    grads: Grads = [
        ctx.emit(
            "Conv",
            g,
            w,
            group=ctx.attr("group", 1),
            strides=ctx.attr("strides", [1] * n),
            dilations=ctx.attr("dilations", [1] * n),
            pads=ctx.attr("pads", [0] * (2 * n)),
        ),
        None,
    ]
    if ctx.has_input(2):
        grads.append(ctx.reduce_sum(g, [0, *range(2, rank)], keepdims=False))
    return grads


@register("MaxPool")
def max_pool(ctx: VjpContext) -> Grads:
    """Route each output's gradient to its argmax (the Indices output, added when absent).

    Ties go to the first maximal position of each window, as ONNX Runtime's Indices say
    (GlobalMaxPool and ReduceMax instead split the gradient evenly between ties).
    """
    if ctx.attr("storage_order", 0) != 0:
        raise ctx.unsupported("storage_order=1 (column-major indices) is not supported")
    x = ctx.inputs[0]
    indices = ctx.add_output(1)  # flat positions in x, batch and channel included
    return [ctx.scatter_add(ctx.grad, indices, x)]


def _window_counts(
    size: int, out: int, k: int, s: int, d: int, begin: int, end: int, include_pad: bool
) -> np.ndarray:
    """How many window positions of each output along one axis are averaged over."""
    positions = np.arange(out)[:, None] * s - begin + np.arange(k)[None, :] * d
    low, high = (-begin, size + end) if include_pad else (0, size)
    return ((positions >= low) & (positions < high)).sum(axis=1)


@register("AveragePool")
def average_pool(ctx: VjpContext) -> Grads:
    """Spread ``g / count`` back over each window: a depthwise transposed convolution of ones."""
    x, y, g = ctx.inputs[0], ctx.outputs[0], ctx.grad
    window = _Window(ctx, x, y)
    channels = ctx.static_dims(x, [1])[0]
    dtype = ctx.dtype(x)
    ones = ctx.const(np.ones((channels, 1, *window.kernel), dtype=dtype))
    share = ctx.emit("Mul", g, _reciprocal_counts(ctx, window, dtype))
    return [window.transpose(ctx, share, ones, channels)]


def _reciprocal_counts(ctx: VjpContext, window: _Window, dtype: np.dtype) -> str:
    """1 / (number of elements each output averages), broadcastable against the output."""
    include_pad = bool(ctx.attr("count_include_pad", 0))
    if window.static:
        counts = np.ones(1)
        for axis in range(window.n):
            per_axis = _window_counts(
                window.inputs[axis],
                window.outputs[axis],
                window.kernel[axis],
                window.strides[axis],
                window.dilations[axis],
                window.begins[axis],
                window.ends[axis],
                include_pad,
            )
            counts = np.multiply.outer(counts, per_axis)
        return ctx.const((1.0 / counts).reshape(1, 1, *window.outputs).astype(dtype))
    if ctx.attr("ceil_mode", 0):
        raise ctx.needs_static("ceil_mode=1 needs static spatial sizes")
    if include_pad:  # without ceil_mode every window lies inside the padded input
        return ctx.const(np.array(1.0 / np.prod(window.kernel), dtype=dtype))
    # real (unpadded) elements per window: the same window summing ones
    rank = window.n + 2
    spatial = ctx.emit("Slice", ctx.shape_of(window.x), ctx.ints([2]), ctx.ints([rank]))
    shape = ctx.emit("Concat", ctx.ints([1, 1]), spatial, axis=0)
    one = ctx.builder.onnx.numpy_helper.from_array(np.ones(1, dtype=dtype))
    real = ctx.emit(
        "Conv",
        ctx.emit("ConstantOfShape", shape, value=one),
        ctx.const(np.ones((1, 1, *window.kernel), dtype=dtype)),
        strides=window.strides,
        dilations=window.dilations,
        pads=[*window.begins, *window.ends],
    )
    return ctx.emit("Reciprocal", real)


@register("GlobalAveragePool")
def global_average_pool(ctx: VjpContext) -> Grads:
    x, y = ctx.inputs[0], ctx.outputs[0]
    return [ctx.expand_like(ctx.emit("Mul", ctx.grad, ctx.size_ratio(y, x)), x)]


@register("GlobalMaxPool")
def global_max_pool(ctx: VjpContext) -> Grads:
    """The gradient goes to the positions equal to the maximum, split evenly between ties
    (unlike MaxPool, whose Indices output names one argmax per window)."""
    x, y = ctx.inputs[0], ctx.outputs[0]
    spatial = list(range(2, ctx.rank(x)))
    return [ctx.split_among_ties(x, y, ctx.grad, lambda m: ctx.reduce_sum(m, spatial))]
