"""``gradient_model``: an ONNX model in, the same model plus vector-Jacobian products out."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

from ..models.onnx import load_model_bytes
from ..utils.optional import import_optional
from .context import GraphBuilder, UnsupportedOperatorError, VjpContext, describe_node
from .path import DifferentiablePath, find_path, node_inputs, topological_order
from .registry import registered_ops, rule_for
from .static_info import (
    UNKNOWN,
    TensorInfo,
    constant_values,
    fold_constants,
    numpy_dtype,
    tensor_infos,
)

#: Models older than this opset are upgraded with ``onnx.version_converter`` first, so
#: the rules see one form of every op (axes as inputs, opset-13 Softmax axis semantics).
MIN_OPSET = 18
#: The seed (upstream gradient) of output ``o`` is the extra input ``o + SEED_SUFFIX``.
SEED_SUFFIX = "__seed"
#: The gradient with respect to tensor ``t`` is the extra output ``t + GRAD_SUFFIX``.
GRAD_SUFFIX = "__grad"
RELU_RULES = ("standard", "guided", "deconv")
_DEFAULT_DOMAINS = ("", "ai.onnx")


def gradient_model(
    model: Any,
    wrt: str | Sequence[str],
    outputs: str | Sequence[str] | None = None,
    relu_rule: str = "standard",
) -> Any:
    """Build an ONNX model that also returns gradients (vector-Jacobian products).

    For seeds ``s_o`` fed per differentiated output ``o``, the new model returns the
    gradient of ``sum_o <s_o, o>`` with respect to every tensor in ``wrt``; with a
    one-hot seed this is the gradient of one output. Everything is standard ONNX, so the
    result runs on plain ONNX Runtime, CPU or CUDA.

    Parameters
    ----------
    model : onnx.ModelProto, str, os.PathLike or bytes
        The model. Models older than opset 18 are upgraded with
        ``onnx.version_converter``; the result uses the upgraded opset.
    wrt : str or sequence of str
        Names of the model inputs and/or intermediate tensors to differentiate with
        respect to (e.g. a convolution's output for Grad-CAM).
    outputs : str or sequence of str, optional
        Tensors to differentiate: graph outputs or any float tensor the model computes.
        All float graph outputs by default.
    relu_rule : {"standard", "guided", "deconv"}
        How gradients pass ``Relu`` nodes and ReLU-like ``Clip(x, 0, c)`` (ReLU6): the
        true gradient, guided backpropagation (only positive gradients through positive
        inputs) or DeconvNet (positive gradients, whatever the input). Other
        activations (LeakyRelu, HardSwish, HardSigmoid, Elu...) keep their gradient.

    Returns
    -------
    onnx.ModelProto
        Inputs: the model's inputs, then one seed ``o + "__seed"`` per differentiated
        output, shaped like that output. Outputs: the model's outputs, then the
        intermediate ``wrt`` tensors and differentiated outputs that were not outputs
        (their values, e.g. activations for Grad-CAM), then one gradient ``t + "__grad"``
        per ``wrt`` tensor, shaped like it.

    Raises
    ------
    UnsupportedOperatorError
        A node on the path from ``wrt`` to ``outputs`` has no gradient rule (see
        :func:`registered_ops`); the message names its op type, its name and the path.

    Examples
    --------
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> grad = gradient_model("cnn.onnx", wrt="input", outputs="logits")  # doctest: +SKIP
    >>> sess = ort.InferenceSession(grad.SerializeToString())  # doctest: +SKIP
    >>> logits, g = sess.run(None, {"input": x, "logits__seed": onehot})  # doctest: +SKIP
    """
    if relu_rule not in RELU_RULES:
        raise ValueError(f"relu_rule must be one of {RELU_RULES}, got {relu_rule!r}.")
    proto = _load(model)
    # Shapes are inferred afresh: stored ones may be stale (e.g. a batch of 1 left by
    # onnx.tools.update_model_dims) and would fix the seeds' shapes wrongly.
    del proto.graph.value_info[:]
    stash = _WeightStash(proto)
    proto = upgrade_model(proto)
    analysis = _Analysis(proto, _names(wrt, "wrt"), outputs, stash.names)
    builder, seeds, grads = _write_gradients(analysis, relu_rule)
    _assemble(proto, analysis, builder, seeds, grads)
    stash.restore(proto)
    return proto


class _Analysis:
    """What the transform needs to know of the graph before writing anything."""

    def __init__(self, proto: Any, wrt: list[str], outputs: Any, stashed: frozenset[str]) -> None:
        onnx = import_optional("onnx")
        graph = proto.graph
        self.wrt = wrt
        self.weights = {i.name for i in graph.initializer}
        self.feeds = [i.name for i in graph.input if i.name not in self.weights]
        self.graph_outputs = [o.name for o in graph.output]
        nodes = [_copy_node(onnx, n) for n in graph.node]
        self.nodes = topological_order(nodes, [i.name for i in graph.input] + sorted(self.weights))
        self.constants = constant_values(graph, skip=stashed)
        folded = fold_constants(self.nodes, self.constants, _opset(proto))
        self.infos = tensor_infos(proto, folded)
        self.produced = {o for n in self.nodes for o in n.output if o}
        _check_wrt(wrt, self.feeds, self.weights, self.produced, self.infos)
        self.outputs = _select_outputs(graph, outputs, self.produced, self.feeds, self.infos)
        self.path = find_path(self.nodes, wrt, self.outputs, self.infos, _ignored_inputs)
        _check_rules(self.path, self.nodes)


def _write_gradients(
    analysis: _Analysis, relu_rule: str
) -> tuple[GraphBuilder, list[str], list[str]]:
    """Emit the VJP nodes in reverse topological order; the seed and gradient names."""
    onnx = import_optional("onnx")
    taken = {*analysis.produced, *analysis.feeds, *analysis.weights}
    taken.update(n.name for n in analysis.nodes)
    builder = GraphBuilder(taken, analysis.infos, analysis.constants)
    seeds = _claim(builder, [o + SEED_SUFFIX for o in analysis.outputs])
    grads = _claim(builder, [w + GRAD_SUFFIX for w in analysis.wrt])
    adjoints = _Adjoints(builder)
    for out, seed in zip(analysis.outputs, seeds, strict=True):
        adjoints.add(out, seed)
    path = analysis.path
    for node in reversed(path.nodes):
        upstream = [adjoints.total(o) if o in path.needed else None for o in node.output]
        if all(g is None for g in upstream):
            continue
        spec = rule_for(node.op_type, node.domain)
        assert spec is not None  # checked by _check_rules
        needs = [n in path.active and i not in spec.ignored for i, n in enumerate(node.input)]
        where = functools.partial(_where, node, path, analysis.nodes)
        ctx = VjpContext(builder, node, upstream, needs, relu_rule, where)
        for name, grad, need in zip(node.input, spec.rule(ctx), needs, strict=False):
            if need and grad is not None:
                adjoints.add(name, grad)
    for w, name in zip(analysis.wrt, grads, strict=True):
        total = adjoints.total(w)
        grad = total if total is not None else _zeros_like(builder, w)
        builder.nodes.append(onnx.helper.make_node("Identity", [grad], [name], name=name))
    return builder, seeds, grads


def _assemble(
    proto: Any, analysis: _Analysis, builder: GraphBuilder, seeds: list[str], grads: list[str]
) -> None:
    """Forward nodes, then the used gradient nodes; seeds as inputs, values and gradients
    as outputs."""
    onnx = import_optional("onnx")
    graph, infos = proto.graph, analysis.infos
    values = [t for t in [*analysis.wrt, *analysis.outputs] if t not in analysis.feeds]
    values = list(dict.fromkeys(v for v in values if v not in analysis.graph_outputs))
    _prune(builder, [*analysis.graph_outputs, *values, *grads])
    for out in graph.output:  # shapes inference could not find, known now (function ops)
        info = infos.get(out.name, UNKNOWN)
        if not out.type.tensor_type.HasField("shape") and info.shape is not None:
            out.CopyFrom(_value_info(onnx, out.name, info))
    del graph.node[:]
    graph.node.extend(analysis.nodes)
    graph.node.extend(builder.nodes)
    graph.initializer.extend(builder.initializers)
    graph.input.extend(
        _value_info(onnx, seed, infos.get(o, UNKNOWN))
        for o, seed in zip(analysis.outputs, seeds, strict=True)
    )
    graph.output.extend(_value_info(onnx, v, infos.get(v, UNKNOWN)) for v in values)
    graph.output.extend(
        _value_info(onnx, name, infos.get(w, UNKNOWN))
        for w, name in zip(analysis.wrt, grads, strict=True)
    )


def _load(model: Any) -> Any:
    onnx = import_optional("onnx")
    if type(model).__name__ == "ModelProto":
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy
    if isinstance(model, (str, os.PathLike)):
        try:
            return onnx.load(os.fspath(model))  # also reads external weights next to it
        except Exception as exc:
            raise ValueError(f"could not load the ONNX file {os.fspath(model)!r}: {exc}") from exc
    raw, _ = load_model_bytes(model)
    try:
        return onnx.load_model_from_string(raw)
    except Exception as exc:
        raise ValueError(f"the ONNX model could not be parsed: {exc}") from exc


class _WeightStash:
    """The data of large initializers, set aside while the graph is analysed.

    The version converter and shape inference serialize the whole model; without the
    weights' bytes (their shapes stay) they take milliseconds instead of seconds.
    """

    MIN_BYTES = 4096

    def __init__(self, proto: Any) -> None:
        self.data: dict[str, bytes] = {}
        for init in proto.graph.initializer:
            if len(init.raw_data) >= self.MIN_BYTES:
                self.data[init.name] = init.raw_data
                init.ClearField("raw_data")
        self.names = frozenset(self.data)

    def restore(self, proto: Any) -> None:
        for init in proto.graph.initializer:
            if init.name in self.data:
                init.raw_data = self.data[init.name]


def upgrade_model(proto: Any) -> Any:
    """Inline local functions and bring the default-domain opset to MIN_OPSET or later.

    ``gradient_model`` does this to every model it is given; callers that build many
    gradient models from one graph (weight randomisation) upgrade it once, first. The
    converter runs on the graph without the data of its large initializers (put back
    after, by name), and its results for the last few graphs are kept: it takes
    milliseconds even on a small network, and the graph of a model is upgraded again for
    every gradient graph built from it.

    Parameters
    ----------
    proto : onnx.ModelProto

    Returns
    -------
    onnx.ModelProto
        ``proto`` itself when it needs nothing, else the upgraded model.
    """
    onnx = import_optional("onnx")
    if len(proto.functions):
        proto = import_optional("onnx.inliner").inline_local_functions(proto)
    opset = _opset(proto)
    if opset < MIN_OPSET:
        stash = _WeightStash(proto)
        skeleton = proto.SerializeToString()
        stash.restore(proto)  # the caller's model is left as it was
        convert = _converted if len(skeleton) <= _CACHED_SKELETON_BYTES else _convert
        proto = onnx.load_model_from_string(convert(skeleton, opset))
        stash.restore(proto)
    needed_ir = onnx.helper.find_min_ir_version_for(list(proto.opset_import), True)
    proto.ir_version = max(int(proto.ir_version), int(needed_ir))
    return proto


#: Graphs (their large initializers' data left out) of at most this many serialized
#: bytes have their upgrades kept (the last ``_converted.cache_info().maxsize``).
_CACHED_SKELETON_BYTES = 1 << 20


def _convert(skeleton: bytes, opset: int) -> bytes:
    """The serialized model ``skeleton`` of opset ``opset`` upgraded to MIN_OPSET.

    Raises
    ------
    ValueError
        ``onnx.version_converter`` fails, or makes an ill-typed model of a well-typed one.
    """
    onnx = import_optional("onnx")
    proto = onnx.load_model_from_string(skeleton)
    was_well_typed = _type_error(proto) is None
    try:
        proto = import_optional("onnx.version_converter").convert_version(proto, MIN_OPSET)
    except Exception as exc:
        raise ValueError(
            f"could not upgrade the model from opset {opset} to {MIN_OPSET} with "
            f"onnx.version_converter ({exc}); export it with opset >= {MIN_OPSET}."
        ) from exc
    _retype_clip_bounds(proto)
    error = _type_error(proto) if was_well_typed else None
    if error is not None:
        raise ValueError(
            f"onnx.version_converter made an ill-typed model when upgrading it from opset "
            f"{opset} to {MIN_OPSET} ({error}); export the model with opset >= {MIN_OPSET}."
        )
    return bytes(proto.SerializeToString())


# Errors are not cached: a model the converter rejects is converted (and rejected) again.
_converted = functools.lru_cache(maxsize=8)(_convert)


def _type_error(proto: Any) -> str | None:
    """Why strict ONNX type and shape inference rejects ``proto``, None if it accepts it."""
    onnx = import_optional("onnx")
    try:
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except Exception as exc:
        return str(exc).strip()
    return None


def _retype_clip_bounds(proto: Any) -> None:
    """Give Clip's ``min``/``max`` constants the type of its input.

    The version converter turns Clip-6's float attributes into float32 Constant inputs
    whatever the input type (float64, float16), which makes the Clip-11 node ill-typed.
    """
    onnx = import_optional("onnx")
    graph = proto.graph
    clips = [n for n in graph.node if n.op_type == "Clip" and n.domain in _DEFAULT_DOMAINS]
    if not clips:
        return
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in (*graph.input, *onnx.shape_inference.infer_shapes(proto).graph.value_info)
    }
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant" and n.output}
    to_array, from_array = onnx.numpy_helper.to_array, onnx.numpy_helper.from_array
    for clip in clips:
        elem = types.get(clip.input[0])
        for bound in clip.input[1:]:
            node = constants.get(bound)
            if not elem or node is None or node.attribute[0].name != "value":
                continue
            tensor = node.attribute[0].t
            if tensor.data_type != elem:
                value = to_array(tensor).astype(numpy_dtype(elem))
                tensor.CopyFrom(from_array(value, tensor.name))


def _opset(proto: Any) -> int:
    """The model's version of the default ONNX domain."""
    versions = [o.version for o in proto.opset_import if o.domain in _DEFAULT_DOMAINS]
    return int(versions[0]) if versions else MIN_OPSET


def _copy_node(onnx: Any, node: Any) -> Any:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    return copy


def _names(value: str | Sequence[str], what: str) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{what} must be a tensor name or a non-empty sequence of names.")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names the same tensor twice: {names}.")
    return names


def _check_wrt(
    wrt: list[str],
    feeds: list[str],
    weights: set[str],
    produced: set[str],
    infos: dict[str, TensorInfo],
) -> None:
    for name in wrt:
        if name in weights and name not in feeds:
            raise ValueError(
                f"{name!r} is a weight (initializer) of the model; gradients are taken with "
                "respect to inputs or intermediate tensors, not weights."
            )
        if name not in feeds and name not in produced:
            raise ValueError(
                f"{name!r} is neither an input of the model nor a tensor computed by it; "
                f"inputs are {feeds} (intermediate tensors are the node outputs)."
            )
        if not infos.get(name, UNKNOWN).is_float:
            raise ValueError(
                f"{name!r} is not a float tensor (element type {infos[name].elem_type}); "
                "only float tensors have gradients (for token ids, differentiate with "
                "respect to the embedding output)."
            )


def _select_outputs(
    graph: Any,
    outputs: str | Sequence[str] | None,
    produced: set[str],
    feeds: list[str],
    infos: dict[str, TensorInfo],
) -> list[str]:
    if outputs is None:
        names = [o.name for o in graph.output if infos.get(o.name, UNKNOWN).is_float]
        if not names:
            raise ValueError("the model has no float output to differentiate.")
        return names
    names = _names(outputs, "outputs")
    for name in names:
        if name not in produced and name not in feeds:
            raise ValueError(
                f"output {name!r} is not a tensor of the model; graph outputs are "
                f"{[o.name for o in graph.output]}."
            )
        if not infos.get(name, UNKNOWN).is_float:
            raise ValueError(f"output {name!r} is not a float tensor; it has no gradient.")
    return names


def _ignored_inputs(node: Any) -> tuple[int, ...]:
    spec = rule_for(node.op_type, node.domain)
    return spec.ignored if spec is not None else ()


def _where(node: Any, path: DifferentiablePath, nodes: list[Any]) -> str:
    """``Foo node 'f'`` on the path ``'x' -> Conv node 'c' -> Foo node 'f'``."""
    position = path.index[id(node)]
    source = next(n for n in node_inputs(node, _ignored_inputs(node)) if n in path.active)
    steps = [repr(path.source(source))]
    steps += [describe_node(n, p) for n, p in path.trace(source, nodes)]
    steps.append(describe_node(node, position))
    return f"{describe_node(node, position)} on the path {' -> '.join(steps)}"


def _check_rules(path: DifferentiablePath, nodes: list[Any]) -> None:
    for node in path.nodes:
        spec = rule_for(node.op_type, node.domain)
        if spec is None:
            domain = f" of domain {node.domain!r}" if node.domain not in _DEFAULT_DOMAINS else ""
            raise UnsupportedOperatorError(
                f"cannot differentiate {_where(node, path, nodes)}: no gradient rule is "
                f"registered for {node.op_type}{domain}. Supported op types: "
                f"{', '.join(registered_ops())}."
            )
        if spec.inputs is None:
            continue
        for i, name in enumerate(node.input):
            if name in path.active and i not in spec.inputs and i not in spec.ignored:
                raise UnsupportedOperatorError(
                    f"cannot differentiate {_where(node, path, nodes)}: its input {i} "
                    f"({name!r}) depends on the differentiated tensors, and the gradient "
                    f"of {node.op_type} with respect to input {i} is not supported."
                )


def _claim(builder: GraphBuilder, names: list[str]) -> list[str]:
    for name in names:
        if name in builder.taken:
            raise ValueError(f"the model already has a tensor named {name!r}; rename it first.")
        builder.taken.add(name)
    return names


class _Adjoints:
    """Gradient contributions per tensor, summed once every consumer has added its own."""

    def __init__(self, builder: GraphBuilder) -> None:
        self.builder = builder
        self.parts: dict[str, list[str]] = {}
        self.totals: dict[str, str | None] = {}

    def add(self, tensor: str, grad: str) -> None:
        assert tensor not in self.totals, f"adjoint of {tensor!r} read before complete"
        self.parts.setdefault(tensor, []).append(grad)

    def total(self, tensor: str) -> str | None:
        if tensor not in self.totals:
            parts = self.parts.get(tensor, [])
            if len(parts) > 1:
                self.totals[tensor] = self.builder.emit("Sum", parts, 1, "accumulate", {})[0]
            else:
                self.totals[tensor] = parts[0] if parts else None
        return self.totals[tensor]


def _zeros_like(builder: GraphBuilder, tensor: str) -> str:
    """Zeros for a ``wrt`` tensor that no differentiated output depends on."""
    elem = builder.infos.get(tensor, UNKNOWN).elem_type or 1
    zero = builder.onnx.helper.make_tensor("zero", elem, [1], [0])
    shape = builder.shape_of(tensor)
    return builder.emit("ConstantOfShape", [shape], 1, "zeros", {"value": zero})[0]


def _prune(builder: GraphBuilder, outputs: list[str]) -> None:
    """Drop gradient nodes and constants that no output uses (rules may over-produce)."""
    live = set(outputs)
    kept = []
    for node in reversed(builder.nodes):
        if any(o in live for o in node.output):
            kept.append(node)
            live.update(node_inputs(node))  # with what Scan bodies read from outside
    builder.nodes = kept[::-1]
    builder.initializers = [i for i in builder.initializers if i.name in live]


def _value_info(onnx: Any, name: str, info: TensorInfo) -> Any:
    return onnx.helper.make_tensor_value_info(
        name,
        info.elem_type or onnx.TensorProto.FLOAT,
        None if info.shape is None else list(info.shape),
    )
