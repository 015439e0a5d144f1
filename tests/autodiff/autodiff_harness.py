"""Test harness for ONNX gradients: small models, runners, finite-difference and adjoint checks.

Models are built in float64. ``engine="ort"`` runs them on ONNX Runtime; ``"ref"`` runs
them on ``onnx.reference`` (pure numpy, float64 for every op) for ops that ORT only has in
float32; :func:`check_ort_float32` then checks the same gradient graph on ORT in float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun
from onnx.reference.ops.op_conv_transpose import ConvTranspose as _ReferenceConvTranspose
from onnx.reference.ops.op_max_pool import MaxPool as _ReferenceMaxPool
from onnx.reference.ops.op_scan import Scan as _ReferenceScan
from scipy import special

from blackbox_xai.autodiff import GRAD_SUFFIX, SEED_SUFFIX, gradient_model

IR_FOR_ORT = 8  # ONNX Runtime reads IR versions up to 13 (onnx stamps newer ones by default)


def make_model(
    nodes: Sequence[Any],
    feeds: dict[str, np.ndarray],
    outputs: Sequence[str],
    consts: dict[str, np.ndarray] | None = None,
    opset: int = 18,
    dims: dict[str, Sequence[int | str]] | None = None,
    domains: dict[str, int] | None = None,
) -> onnx.ModelProto:
    """A model whose graph inputs are ``feeds`` and whose weights are ``consts``.

    ``dims`` declares other input shapes than the feeds' (symbolic sizes, e.g. "n");
    ``domains`` adds opset imports. Output types and shapes are inferred.
    """
    dims = dims or {}
    consts = consts or {}
    feeds = {k: np.asarray(v) for k, v in feeds.items()}
    elem = helper.np_dtype_to_tensor_dtype(
        next(a.dtype for a in feeds.values() if a.dtype.kind == "f")
    )
    graph = helper.make_graph(
        list(nodes),
        "test",
        [
            helper.make_tensor_value_info(
                k, helper.np_dtype_to_tensor_dtype(v.dtype), dims.get(k, v.shape)
            )
            for k, v in feeds.items()
        ],
        [helper.make_empty_tensor_value_info(o) for o in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()],
    )
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    ir = max(IR_FOR_ORT, helper.find_min_ir_version_for(opsets[:1]))
    model = helper.make_model(graph, opset_imports=opsets, ir_version=ir)
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.output)}
    for out in model.graph.output:
        found = known.get(out.name)
        if found is not None and found.type.tensor_type.elem_type:
            out.CopyFrom(found)
        else:  # not inferable (custom ops): declare the feeds' float type
            out.CopyFrom(helper.make_tensor_value_info(out.name, elem, None))
    return model


def node_model(
    op: str,
    feeds: dict[str, np.ndarray],
    consts: dict[str, np.ndarray] | None = None,
    inputs: Sequence[str] | None = None,
    opset: int = 18,
    dims: dict[str, Sequence[int | str]] | None = None,
    outputs: Sequence[str] = ("y",),
    **attrs: Any,
) -> onnx.ModelProto:
    """A one-node model ``outputs = op(inputs)``; inputs default to feeds then consts."""
    consts = consts or {}
    names = list(inputs) if inputs is not None else [*feeds, *consts]
    node = helper.make_node(op, names, list(outputs), **attrs)
    return make_model([node], feeds, [o for o in outputs if o], consts, opset, dims)


class ConvTranspose(_ReferenceConvTranspose):
    """onnx.reference's ConvTranspose with groups fixed (it slices the weight by output
    channels instead of input channels when group > 1)."""

    def _run(self, X, W, B=None, group=None, **attrs):  # type: ignore[no-untyped-def]
        group = group or 1
        if group == 1:
            return super()._run(X, W, B, group=1, **attrs)
        width = X.shape[1] // group
        parts = [
            super(ConvTranspose, self)._run(
                X[:, i * width : (i + 1) * width],
                W[i * width : (i + 1) * width],
                None,
                group=1,
                **attrs,
            )[0]
            for i in range(group)
        ]
        y = np.concatenate(parts, axis=1)
        if B is not None:
            y = y + B.reshape(1, -1, *[1] * (y.ndim - 2))
        return (y.astype(X.dtype),)


class MaxPool(_ReferenceMaxPool):
    """onnx.reference's MaxPool loops over windows in Python (most of the light models'
    time); this one takes the windows with numpy when there are explicit pads, no
    ceil_mode and no Indices output, and leaves other cases to the reference."""

    def _run(self, x, auto_pad=None, ceil_mode=None, kernel_shape=None, **attrs):  # type: ignore[no-untyped-def]
        outputs = [o for o in self.onnx_node.output if o]
        if auto_pad not in (None, "NOTSET") or ceil_mode or len(outputs) > 1:
            return super()._run(x, auto_pad, ceil_mode, kernel_shape=kernel_shape, **attrs)
        n = len(kernel_shape)
        strides = attrs.get("strides") or [1] * n
        dilations = attrs.get("dilations") or [1] * n
        pads = attrs.get("pads") or [0] * (2 * n)
        widths = [(0, 0), (0, 0), *((pads[i], pads[i + n]) for i in range(n))]
        padded = np.pad(x, widths, constant_values=-np.inf)
        extents = [(k - 1) * d + 1 for k, d in zip(kernel_shape, dilations, strict=True)]
        windows = np.lib.stride_tricks.sliding_window_view(padded, extents, tuple(range(2, n + 2)))
        picked = windows[
            (
                ...,
                *(slice(None, None, s) for s in strides),
                *(slice(None, None, d) for d in dilations),
            )
        ]
        return (picked.max(axis=tuple(range(-n, 0))).astype(x.dtype),)


class GlobalMaxPool(OpRun):
    """onnx.reference's GlobalMaxPool reduces the wrong axes unless there are 2 spatial axes."""

    def _run(self, x):  # type: ignore[no-untyped-def]
        return (x.max(axis=tuple(range(2, x.ndim)), keepdims=True),)


class LRN(OpRun):
    """onnx.reference's LRN loops over the batch axis instead of the channels."""

    def _run(self, x, alpha=1e-4, beta=0.75, bias=1.0, size=None):  # type: ignore[no-untyped-def]
        low, high = (size - 1) // 2, size - 1 - (size - 1) // 2
        squares = np.zeros_like(x)
        for c in range(x.shape[1]):
            squares[:, c] = np.sum(x[:, max(0, c - low) : c + high + 1] ** 2, axis=1)
        return ((x / (bias + alpha / size * squares) ** beta).astype(x.dtype),)


class Erf(OpRun):
    """onnx.reference's Erf is accurate to ~1e-8 only, too coarse for float64 differences."""

    def _run(self, x):  # type: ignore[no-untyped-def]
        return (special.erf(x).astype(x.dtype),)


class BatchNormalization(OpRun):
    """onnx.reference's opset-9 BatchNormalization uses batch statistics when ``momentum``
    is set; inference uses the running ones (as ORT does, and as opset 14 says)."""

    def _run(self, x, scale, bias, mean, var, epsilon=1e-5, momentum=None, training_mode=0):  # type: ignore[no-untyped-def]
        assert not training_mode
        shape = (1, -1) + (1,) * (x.ndim - 2)
        normalized = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
        return ((normalized * scale.reshape(shape) + bias.reshape(shape)).astype(x.dtype),)


class Scan(_ReferenceScan):
    """onnx.reference's Scan with reversed directions (it implements direction 0 only):
    reversed inputs are flipped before the loop, reversed outputs after it."""

    def __init__(self, onnx_node, run_params):  # type: ignore[no-untyped-def]
        attrs = {a.name: list(a.ints) for a in onnx_node.attribute}
        self.reversed_inputs = attrs.get("scan_input_directions", [])
        self.reversed_outputs = attrs.get("scan_output_directions", [])
        plain = onnx.NodeProto()
        plain.CopyFrom(onnx_node)
        kept = [a for a in plain.attribute if not a.name.endswith("_directions")]
        del plain.attribute[:]
        plain.attribute.extend(kept)
        super().__init__(plain, run_params)

    def _run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        states = len(args) - self.num_scan_inputs
        flipped = [
            np.flip(a, 0) if i >= states and self._reversed(self.reversed_inputs, i - states) else a
            for i, a in enumerate(args)
        ]
        out = super()._run(*flipped, **kwargs)
        return tuple(
            np.flip(o, 0)
            if i >= states and self._reversed(self.reversed_outputs, i - states)
            else o
            for i, o in enumerate(out)
        )

    @staticmethod
    def _reversed(directions, i):  # type: ignore[no-untyped-def]
        return i < len(directions) and directions[i] == 1


class Runner:
    """Runs a model on ORT or on the reference evaluator with named feeds."""

    def __init__(self, model: onnx.ModelProto, engine: str = "ort") -> None:
        self.engine = engine
        self.names = [o.name for o in model.graph.output]
        if engine == "ort":
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self.session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        else:
            self.session = ReferenceEvaluator(
                model,
                new_ops=[BatchNormalization, ConvTranspose, Erf, GlobalMaxPool, LRN, MaxPool, Scan],
            )

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = self.session.run(None, {k: np.asarray(v) for k, v in feeds.items()})
        return {n: np.asarray(o) for n, o in zip(self.names, out, strict=True)}


def float_outputs(model: onnx.ModelProto) -> list[str]:
    return [o.name for o in model.graph.output if o.type.tensor_type.elem_type in (1, 10, 11)]


def gradients(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    seeds: dict[str, np.ndarray],
    wrt: Sequence[str],
    engine: str = "ort",
    **options: Any,
) -> tuple[dict[str, np.ndarray], onnx.ModelProto]:
    """Gradients of ``sum_o <seed_o, o>`` with respect to ``wrt``, and the gradient model."""
    grad_model = gradient_model(model, list(wrt), outputs=list(seeds), **options)
    if grad_model.ByteSize() < 2**24:  # (big models: the light models, checked once each)
        onnx.checker.check_model(grad_model)
        onnx.shape_inference.infer_shapes(grad_model, check_type=True, strict_mode=True)
    out = Runner(grad_model, engine)({**feeds, **{o + SEED_SUFFIX: s for o, s in seeds.items()}})
    return {w: out[w + GRAD_SUFFIX] for w in wrt}, grad_model


def _objective(
    run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
    feeds: dict[str, np.ndarray],
    seeds: dict[str, np.ndarray],
) -> float:
    out = run(feeds)
    return float(sum(np.vdot(s, out[o].astype(np.float64)) for o, s in seeds.items()))


def random_seeds(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    rng: np.random.Generator,
    engine: str = "ort",
    outputs: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    out = Runner(model, engine)(feeds)
    names = outputs or float_outputs(model)
    return {o: np.asarray(rng.standard_normal(out[o].shape), out[o].dtype) for o in names}


def check_vjp(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    wrt: Sequence[str] | None = None,
    engine: str = "ort",
    eps: float = 1e-6,
    rtol: float = 1e-6,
    n_directions: int = 3,
    seed: int = 0,
    outputs: Sequence[str] | None = None,
    forward: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
    **options: Any,
) -> dict[str, np.ndarray]:
    """Directional central differences of ``<u, f(x)>`` against ``<grad, v>``, random u, v.

    The error allowed is ``rtol * |grad| * |v|`` per direction (relative to the gradient's
    norm, so a wrong component of any size is caught). ``forward`` replaces the model for
    the differences when given. Returns the gradients.
    """
    rng = np.random.default_rng(seed)
    feeds = {k: np.asarray(v) for k, v in feeds.items()}
    wrt = list(wrt or [k for k, v in feeds.items() if v.dtype.kind == "f"])
    seeds = random_seeds(model, feeds, rng, engine, outputs)
    grads, _ = gradients(model, feeds, seeds, wrt, engine, **options)
    run = forward or Runner(model, engine)
    norm = np.sqrt(sum(float(np.sum(grads[w].astype(np.float64) ** 2)) for w in wrt))
    for _ in range(n_directions):
        direction = {w: rng.standard_normal(feeds[w].shape) for w in wrt}
        v_norm = np.sqrt(sum(float(np.sum(d**2)) for d in direction.values()))
        plus = {
            **feeds,
            **{w: np.asarray(feeds[w] + eps * direction[w], feeds[w].dtype) for w in wrt},
        }
        minus = {
            **feeds,
            **{w: np.asarray(feeds[w] - eps * direction[w], feeds[w].dtype) for w in wrt},
        }
        numeric = (_objective(run, plus, seeds) - _objective(run, minus, seeds)) / (2 * eps)
        analytic = sum(float(np.vdot(grads[w].astype(np.float64), direction[w])) for w in wrt)
        assert abs(numeric - analytic) <= rtol * norm * v_norm + 1e-12, (numeric, analytic, norm)
    return grads


def check_adjoint(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    wrt: str,
    engine: str = "ort",
    rtol: float = 1e-10,
    seed: int = 0,
) -> None:
    """Dot-product test of an affine map ``x -> f(x)``: ``<f(v) - f(0), u> = <v, J^T u>``."""
    rng = np.random.default_rng(seed)
    feeds = {k: np.asarray(v) for k, v in feeds.items()}
    seeds = random_seeds(model, feeds, rng, engine)
    v = rng.standard_normal(feeds[wrt].shape).astype(feeds[wrt].dtype)
    grads, _ = gradients(model, {**feeds, wrt: v}, seeds, [wrt], engine)
    run = Runner(model, engine)
    forward = _objective(run, {**feeds, wrt: v}, seeds) - _objective(
        run, {**feeds, wrt: np.zeros_like(v)}, seeds
    )
    backward = float(np.vdot(v.astype(np.float64), grads[wrt].astype(np.float64)))
    scale = np.linalg.norm(v) * np.linalg.norm(grads[wrt])
    assert abs(forward - backward) <= rtol * scale, (forward, backward)


def to_float32(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same model with every float64 tensor, type and Cast target made float32."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    graph = m.graph
    for value in (*graph.input, *graph.output, *graph.value_info):
        if value.type.tensor_type.elem_type == TensorProto.DOUBLE:
            value.type.tensor_type.elem_type = TensorProto.FLOAT
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.DOUBLE:
            graph.initializer[i].CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name)
            )
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "to" and attr.i == TensorProto.DOUBLE:
                attr.i = TensorProto.FLOAT
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.DOUBLE:
                attr.t.CopyFrom(
                    numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float32))
                )
    return m


def check_ort_float32(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    wrt: Sequence[str] | None = None,
    rtol: float = 2e-4,
    seed: int = 0,
    **options: Any,
) -> None:
    """The gradient graph of the float32 model runs on ORT and matches the float64 reference.

    ORT's forward pass must agree with the reference too, so gradients checked against
    the reference's finite differences hold for ORT's semantics of the op.
    """
    rng = np.random.default_rng(seed)
    wrt = list(wrt or [k for k, v in feeds.items() if v.dtype.kind == "f"])
    seeds = random_seeds(model, feeds, rng, "ref")
    expected, _ = gradients(model, feeds, seeds, wrt, "ref", **options)
    feeds32 = {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in feeds.items()}
    forward64, forward32 = Runner(model, "ref")(feeds), Runner(to_float32(model), "ort")(feeds32)
    for name in seeds:
        scale = float(np.abs(forward64[name]).max())
        np.testing.assert_allclose(
            forward32[name], forward64[name], rtol=0, atol=1e-5 * max(scale, 1e-30)
        )
    seeds32 = {k: v.astype(np.float32) for k, v in seeds.items()}
    got, _ = gradients(to_float32(model), feeds32, seeds32, wrt, "ort", **options)
    for w in wrt:
        scale = float(np.abs(expected[w]).max())
        np.testing.assert_allclose(got[w], expected[w], rtol=0, atol=rtol * max(scale, 1e-30))
