"""Recurrent layers: LSTM, GRU and RNN (every direction and layout, default activations).

Backpropagation through time runs as an ONNX ``Scan`` over the reversed sequence. What
each step needs of the forward pass is recomputed for all steps at once: the hidden
states are the layer's ``Y`` output (added to the node when the model did not use it),
so the gate pre-activations are batched matrix products; only the LSTM's cell state is
a recurrence, recomputed by a forward ``Scan`` of elementwise ops. Gradients are given
for the sequence and the initial states (not for the weights). Not supported: custom
``activations``, ``clip``, LSTM ``input_forget`` and ``sequence_lens`` (packed
sequences of different lengths).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import VjpContext
from ..registry import register

Grads = list[str | None]

_DEFAULT_ACTIVATIONS = {
    "LSTM": ["sigmoid", "tanh", "tanh"],
    "GRU": ["sigmoid", "tanh"],
    "RNN": ["tanh"],
}
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


class _Body:
    """Nodes of a Scan body, named locally, typed like the recurrence's input."""

    def __init__(self, ctx: VjpContext, elem: int) -> None:
        self.ctx = ctx
        self.helper = ctx.builder.onnx.helper
        self.elem = elem
        self.nodes: list[Any] = []
        self.inputs: list[Any] = []

    def fresh(self, hint: str) -> str:
        # names unique in the whole model: a subgraph may not shadow an outer name
        return self.ctx.builder.fresh(f"grad/scan/{hint}")

    def input(self, hint: str) -> str:
        name = self.fresh(hint)
        self.inputs.append(self.helper.make_tensor_value_info(name, self.elem, None))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = self.fresh(op_type)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def one_minus(self, t: str, one: str) -> str:
        return self.op("Sub", one, t)

    def graph(self, outputs: Sequence[str]) -> Any:
        """The body graph; ``outputs`` pass through Identity to fresh names."""
        named = []
        for out in outputs:
            name = self.fresh("out")
            self.nodes.append(self.helper.make_node("Identity", [out], [name]))
            named.append(self.helper.make_tensor_value_info(name, self.elem, None))
        return self.helper.make_graph(self.nodes, "vjp_body", self.inputs, named)


@dataclass
class _Layer:
    """What all directions share: the sequence (time first), sizes, gradients of outputs."""

    ctx: VjpContext
    op: str
    hidden: int
    directions: int
    x: str  # (T, N, I)
    y: str  # (T, D, N, H)
    dy: str | None  # like y
    dh_last: str | None  # (D, N, H)
    dc_last: str | None
    h0: str | None  # (D, N, H)
    c0: str | None

    def direction(self, tensor: str | None, d: int, axis: int) -> str | None:
        if tensor is None:
            return None
        if self.directions == 1:
            return self.ctx.emit("Squeeze", tensor, self.ctx.ints([axis]))
        return self.ctx.emit("Gather", tensor, self.ctx.const(np.int64(d)), axis=axis)


def _check(ctx: VjpContext, op: str) -> None:
    activations = [a.lower() for a in ctx.attr("activations", [])]
    defaults = _DEFAULT_ACTIVATIONS[op]
    if activations and activations not in (defaults, defaults * 2):
        raise ctx.unsupported(f"only the default activations {defaults} are supported")
    if ctx.attr("clip") is not None:
        raise ctx.unsupported("clip is not supported")
    if ctx.attr("input_forget", 0):
        raise ctx.unsupported("input_forget=1 is not supported")
    if ctx.has_input(4):
        raise ctx.unsupported(
            "sequence_lens is not supported (export without packed sequences of different lengths)"
        )


def _layer(ctx: VjpContext, op: str) -> _Layer:
    """Bring every tensor to layout 0 (time, [directions,] batch, features)."""
    _check(ctx, op)
    batch_first = bool(ctx.attr("layout", 0))
    directions = 2 if ctx.attr("direction", "forward") == "bidirectional" else 1
    hidden = ctx.attr("hidden_size") or ctx.static_dims(ctx.inputs[2], [2])[0]
    x = ctx.inputs[0]
    y = ctx.add_output(0)
    dy, dh_last = ctx.grads[0], (ctx.grads[1] if len(ctx.grads) > 1 else None)
    dc_last = ctx.grads[2] if op == "LSTM" and len(ctx.grads) > 2 else None
    h0 = ctx.inputs[5] if ctx.has_input(5) else None
    c0 = ctx.inputs[6] if op == "LSTM" and ctx.has_input(6) else None
    if batch_first:
        x = ctx.emit("Transpose", x, perm=[1, 0, 2])
        y = ctx.emit("Transpose", y, perm=[1, 2, 0, 3])
        dy = None if dy is None else ctx.emit("Transpose", dy, perm=[1, 2, 0, 3])

        def swap(t: str | None) -> str | None:
            return None if t is None else ctx.emit("Transpose", t, perm=[1, 0, 2])

        dh_last, dc_last, h0, c0 = swap(dh_last), swap(dc_last), swap(h0), swap(c0)
    return _Layer(ctx, op, int(hidden), directions, x, y, dy, dh_last, dc_last, h0, c0)


def _reverse_time(ctx: VjpContext, t: str) -> str:
    return ctx.emit(
        "Slice",
        t,
        ctx.ints([-1]),
        ctx.ints([np.iinfo(np.int64).min]),
        ctx.ints([0]),
        ctx.ints([-1]),
    )


def _matmul_t(ctx: VjpContext, a: str, w: str) -> str:
    """``a @ w^T`` for a (..., K) sequence and a (M, K) weight."""
    return ctx.emit("MatMul", a, ctx.emit("Transpose", w, perm=[1, 0]))


def _zeros(ctx: VjpContext, like: str) -> str:
    """Zeros of ``like``'s run-time shape in the sequence's float type (``like`` may be a
    tensor the rule made, without a static type)."""
    zero = ctx.builder.onnx.numpy_helper.from_array(np.zeros(1, dtype=ctx.dtype(ctx.inputs[0])))
    return ctx.emit("ConstantOfShape", ctx.shape_of(like), value=zero)


class _Direction:
    """One direction's weights and forward values, in processing order (time reversed
    for the reverse direction)."""

    def __init__(self, layer: _Layer, d: int, reverse: bool) -> None:
        ctx = self.ctx = layer.ctx
        self.layer, self.d, self.reverse = layer, d, reverse
        gates = _GATES[layer.op]

        def pick(i: int) -> str:
            picked = layer.direction(ctx.inputs[i], d, 0)
            assert picked is not None
            return picked

        self.w, self.r = pick(1), pick(2)
        width = 2 * gates * layer.hidden
        if ctx.has_input(3):
            b = pick(3)
            self.wb, self.rb = ctx.emit_n("Split", [b], 2, axis=0, num_outputs=2)
        else:
            zeros = ctx.const(np.zeros(width // 2, dtype=ctx.dtype(ctx.inputs[0])))
            self.wb, self.rb = zeros, zeros
        order = _reverse_time if reverse else (lambda c, t: t)
        self.x = order(ctx, layer.x)
        y_d = layer.direction(layer.y, d, 1)
        assert y_d is not None
        self.y = order(ctx, y_d)
        dy = layer.direction(layer.dy, d, 1)
        self.dy = order(ctx, dy) if dy is not None else _zeros(ctx, self.y)
        first = ctx.emit("Gather", self.y, ctx.const(np.int64(0)), axis=0)  # (N, H)
        h0 = layer.direction(layer.h0, d, 0)
        self.h0 = h0 if h0 is not None else _zeros(ctx, first)
        c0 = layer.direction(layer.c0, d, 0)
        self.c0 = c0 if c0 is not None else _zeros(ctx, first)
        dh = layer.direction(layer.dh_last, d, 0)
        self.dh_last = dh if dh is not None else _zeros(ctx, first)
        dc = layer.direction(layer.dc_last, d, 0)
        self.dc_last = dc if dc is not None else _zeros(ctx, first)
        # hidden state before each step: h0, then the outputs but the last
        earlier = ctx.emit("Slice", self.y, ctx.ints([0]), ctx.ints([-1]), ctx.ints([0]))
        self.h_prev = ctx.emit("Concat", ctx.unsqueeze(self.h0, [0]), earlier, axis=0)
        self.elem = ctx.info(ctx.inputs[0]).elem_type or 1

    def scan(
        self,
        body: _Body,
        outputs: Sequence[str],
        states: Sequence[str],
        sequences: Sequence[str],
        n_states: int,
        backward: bool,
    ) -> list[str]:
        """Run ``body`` over ``sequences`` (last step first when ``backward``)."""
        ctx = self.ctx
        n_scan = len(sequences)
        n_out = len(outputs) - n_states
        return ctx.emit_n(
            "Scan",
            [*states, *sequences],
            len(outputs),
            body=body.graph(outputs),
            num_scan_inputs=n_scan,
            scan_input_directions=[int(backward)] * n_scan,
            scan_output_directions=[int(backward)] * n_out,
        )

    def input_gradient(self, da: str) -> str:
        """``dX`` in time order from the pre-activation gradients ``da`` (T, N, G H)."""
        dx = self.ctx.emit("MatMul", da, self.w)
        return _reverse_time(self.ctx, dx) if self.reverse else dx


def _lstm_direction(direction: _Direction) -> tuple[str, str, str]:
    """dX (T, N, I), dh0 and dc0 (N, H) of one LSTM direction."""
    ctx, layer = direction.ctx, direction.layer
    bias = ctx.emit("Add", direction.wb, direction.rb)
    a = ctx.emit(
        "Add",
        ctx.emit(
            "Add",
            _matmul_t(ctx, direction.x, direction.w),
            _matmul_t(ctx, direction.h_prev, direction.r),
        ),
        bias,
    )
    a_i, a_o, a_f, a_c = ctx.emit_n("Split", [a], 4, axis=-1, num_outputs=4)
    peep = None
    if ctx.has_input(7):
        p = layer.direction(ctx.inputs[7], direction.d, 0)
        assert p is not None
        peep = ctx.emit_n("Split", [p], 3, axis=0, num_outputs=3)  # i, o, f
    one = ctx.scalar(1.0, ctx.inputs[0])
    # forward: the cell states
    fwd = _Body(ctx, direction.elem)
    c_prev = fwd.input("c_prev")
    ai, af, ac = fwd.input("a_i"), fwd.input("a_f"), fwd.input("a_c")
    if peep is not None:
        ai = fwd.op("Add", ai, fwd.op("Mul", peep[0], c_prev))
        af = fwd.op("Add", af, fwd.op("Mul", peep[2], c_prev))
    i, f = fwd.op("Sigmoid", ai), fwd.op("Sigmoid", af)
    c = fwd.op("Add", fwd.op("Mul", f, c_prev), fwd.op("Mul", i, fwd.op("Tanh", ac)))
    _, cells, cells_prev, gate_i, gate_f = direction.scan(
        fwd, [c, c, c_prev, i, f], [direction.c0], [a_i, a_f, a_c], 1, backward=False
    )
    if peep is not None:
        a_o = ctx.emit("Add", a_o, ctx.emit("Mul", peep[1], cells))
    gate_o, gate_c, tanh_c = (
        ctx.emit("Sigmoid", a_o),
        ctx.emit("Tanh", a_c),
        ctx.emit("Tanh", cells),
    )
    # backward through time
    bwd = _Body(ctx, direction.elem)
    dh, dc = bwd.input("dh"), bwd.input("dc")
    dy, i, f, o, g, c_prev, tc = (
        bwd.input(n) for n in ("dy", "i", "f", "o", "g", "c_prev", "tanh_c")
    )
    dh = bwd.op("Add", dh, dy)
    da_o = bwd.op("Mul", bwd.op("Mul", dh, tc), bwd.op("Mul", o, bwd.one_minus(o, one)))
    dc = bwd.op(
        "Add", dc, bwd.op("Mul", bwd.op("Mul", dh, o), bwd.one_minus(bwd.op("Mul", tc, tc), one))
    )
    if peep is not None:
        dc = bwd.op("Add", dc, bwd.op("Mul", da_o, peep[1]))
    da_i = bwd.op("Mul", bwd.op("Mul", dc, g), bwd.op("Mul", i, bwd.one_minus(i, one)))
    da_f = bwd.op("Mul", bwd.op("Mul", dc, c_prev), bwd.op("Mul", f, bwd.one_minus(f, one)))
    da_c = bwd.op("Mul", bwd.op("Mul", dc, i), bwd.one_minus(bwd.op("Mul", g, g), one))
    da = bwd.op("Concat", da_i, da_o, da_f, da_c, axis=-1)
    dh_prev = bwd.op("MatMul", da, direction.r)
    dc_prev = bwd.op("Mul", dc, f)
    if peep is not None:
        dc_prev = bwd.op(
            "Add",
            dc_prev,
            bwd.op("Add", bwd.op("Mul", da_i, peep[0]), bwd.op("Mul", da_f, peep[2])),
        )
    dh0, dc0, das = direction.scan(
        bwd,
        [dh_prev, dc_prev, da],
        [direction.dh_last, direction.dc_last],
        [direction.dy, gate_i, gate_f, gate_o, gate_c, cells_prev, tanh_c],
        2,
        backward=True,
    )
    return direction.input_gradient(das), dh0, dc0


def _gru_direction(direction: _Direction) -> tuple[str, str, str | None]:
    """dX (T, N, I) and dh0 (N, H) of one GRU direction."""
    ctx = direction.ctx
    linear_before_reset = bool(ctx.attr("linear_before_reset", 0))
    wb_z, wb_r, wb_h = ctx.emit_n("Split", [direction.wb], 3, axis=0, num_outputs=3)
    rb_z, rb_r, rb_h = ctx.emit_n("Split", [direction.rb], 3, axis=0, num_outputs=3)
    r_zr, r_h = ctx.emit_n(
        "Split",
        [direction.r, ctx.ints([2 * direction.layer.hidden, direction.layer.hidden])],
        2,
        axis=0,
    )
    x_z, x_r, x_h = ctx.emit_n(
        "Split", [_matmul_t(ctx, direction.x, direction.w)], 3, axis=-1, num_outputs=3
    )
    h_prev = direction.h_prev
    h_zr = _matmul_t(ctx, h_prev, r_zr)
    h_z, h_r = ctx.emit_n("Split", [h_zr], 2, axis=-1, num_outputs=2)
    z = ctx.emit("Sigmoid", ctx.emit("Add", ctx.emit("Add", x_z, h_z), ctx.emit("Add", wb_z, rb_z)))
    r = ctx.emit("Sigmoid", ctx.emit("Add", ctx.emit("Add", x_r, h_r), ctx.emit("Add", wb_r, rb_r)))
    if linear_before_reset:
        n_lin = ctx.emit("Add", _matmul_t(ctx, h_prev, r_h), rb_h)
        recurrent = ctx.emit("Mul", r, n_lin)
    else:
        n_lin = None
        recurrent = ctx.emit("Add", _matmul_t(ctx, ctx.emit("Mul", r, h_prev), r_h), rb_h)
    h_new = ctx.emit("Tanh", ctx.emit("Add", ctx.emit("Add", x_h, wb_h), recurrent))
    one = ctx.scalar(1.0, ctx.inputs[0])
    bwd = _Body(ctx, direction.elem)
    dh = bwd.input("dh")
    dy, zt, rt, ht, hp = (bwd.input(n) for n in ("dy", "z", "r", "h_new", "h_prev"))
    nt = bwd.input("n_lin") if linear_before_reset else None
    dh = bwd.op("Add", dh, dy)
    da_h = bwd.op(
        "Mul", bwd.op("Mul", dh, bwd.one_minus(zt, one)), bwd.one_minus(bwd.op("Mul", ht, ht), one)
    )
    da_z = bwd.op(
        "Mul", bwd.op("Mul", dh, bwd.op("Sub", hp, ht)), bwd.op("Mul", zt, bwd.one_minus(zt, one))
    )
    dh_prev = bwd.op("Mul", dh, zt)
    if nt is not None:
        dr = bwd.op("Mul", da_h, nt)
        dh_prev = bwd.op("Add", dh_prev, bwd.op("MatMul", bwd.op("Mul", da_h, rt), r_h))
    else:
        d_rh = bwd.op("MatMul", da_h, r_h)
        dr = bwd.op("Mul", d_rh, hp)
        dh_prev = bwd.op("Add", dh_prev, bwd.op("Mul", d_rh, rt))
    da_r = bwd.op("Mul", dr, bwd.op("Mul", rt, bwd.one_minus(rt, one)))
    dh_prev = bwd.op("Add", dh_prev, bwd.op("MatMul", bwd.op("Concat", da_z, da_r, axis=-1), r_zr))
    da = bwd.op("Concat", da_z, da_r, da_h, axis=-1)
    sequences = [direction.dy, z, r, h_new, h_prev, *([n_lin] if n_lin is not None else [])]
    dh0, das = direction.scan(bwd, [dh_prev, da], [direction.dh_last], sequences, 1, backward=True)
    return direction.input_gradient(das), dh0, None


def _rnn_direction(direction: _Direction) -> tuple[str, str, str | None]:
    """dX (T, N, I) and dh0 (N, H) of one simple (tanh) RNN direction."""
    ctx = direction.ctx
    one = ctx.scalar(1.0, ctx.inputs[0])
    bwd = _Body(ctx, direction.elem)
    dh, dy, ht = bwd.input("dh"), bwd.input("dy"), bwd.input("h")
    da = bwd.op("Mul", bwd.op("Add", dh, dy), bwd.one_minus(bwd.op("Mul", ht, ht), one))
    dh_prev = bwd.op("MatMul", da, direction.r)
    dh0, das = direction.scan(
        bwd, [dh_prev, da], [direction.dh_last], [direction.dy, direction.y], 1, backward=True
    )
    return direction.input_gradient(das), dh0, None


_DIRECTIONS = {"LSTM": _lstm_direction, "GRU": _gru_direction, "RNN": _rnn_direction}


def _recurrent(ctx: VjpContext, op: str) -> Grads:
    layer = _layer(ctx, op)
    reverse_only = ctx.attr("direction", "forward") == "reverse"
    dxs, dh0s, dc0s = [], [], []
    for d in range(layer.directions):
        dx, dh0, dc0 = _DIRECTIONS[op](_Direction(layer, d, reverse_only or d == 1))
        dxs.append(dx)
        dh0s.append(ctx.unsqueeze(dh0, [0]))
        if dc0 is not None:
            dc0s.append(ctx.unsqueeze(dc0, [0]))
    dx = dxs[0] if len(dxs) == 1 else ctx.emit("Add", *dxs)
    stack = lambda parts: parts[0] if len(parts) == 1 else ctx.emit("Concat", *parts, axis=0)  # noqa: E731
    dh0, dc0 = stack(dh0s), (stack(dc0s) if dc0s else None)
    if ctx.attr("layout", 0):
        dx = ctx.emit("Transpose", dx, perm=[1, 0, 2])
        dh0 = ctx.emit("Transpose", dh0, perm=[1, 0, 2])
        dc0 = None if dc0 is None else ctx.emit("Transpose", dc0, perm=[1, 0, 2])
    grads: Grads = [dx, None, None, None, None, dh0 if ctx.needs(5) else None]
    if op == "LSTM":
        grads.append(dc0 if ctx.needs(6) else None)
    return grads


@register("LSTM", inputs=(0, 5, 6))
def lstm(ctx: VjpContext) -> Grads:
    return _recurrent(ctx, "LSTM")


@register("GRU", inputs=(0, 5))
def gru(ctx: VjpContext) -> Grads:
    return _recurrent(ctx, "GRU")


@register("RNN", inputs=(0, 5))
def rnn(ctx: VjpContext) -> Grads:
    return _recurrent(ctx, "RNN")
