"""What is known before running a graph: element types, static shapes, constant values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..utils.optional import import_optional

# ONNX element types of the floating-point tensors that carry gradients.
FLOAT_TYPES = frozenset({1, 10, 11, 16})  # float, float16, double, bfloat16

Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    """Element type (None if unknown) and shape (None if the rank is unknown)."""

    elem_type: int | None
    shape: tuple[Dim, ...] | None

    @property
    def is_float(self) -> bool:
        """True for float tensors and for tensors of unknown type (they may carry gradients)."""
        return self.elem_type is None or self.elem_type in FLOAT_TYPES


UNKNOWN = TensorInfo(None, None)


def _value_info(value: Any) -> TensorInfo:
    tensor = value.type.tensor_type
    elem = tensor.elem_type or None
    if not tensor.HasField("shape"):
        return TensorInfo(elem, None)
    dims: list[Dim] = []
    for d in tensor.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            dims.append(str(d.dim_param))
        else:
            dims.append(None)
    return TensorInfo(elem, tuple(dims))


def tensor_infos(model: Any, folded: dict[str, np.ndarray] | None = None) -> dict[str, TensorInfo]:
    """Type and shape of every tensor that ONNX shape inference can describe.

    ``folded`` constants (see :func:`fold_constants`) are given to inference as
    initializers, so shapes computed from them (pads, reshape targets) become static.
    """
    if folded:
        model = _with_folded_constants(model, folded)
    inferred = _infer(model)
    declared = _shapes_of_shape_preserving_ops(inferred)
    if declared:  # give inference the shapes it cannot find, and let it carry them on
        model = _with_value_infos(model, declared)
        inferred = _infer(model)
    graph = inferred.graph
    infos: dict[str, TensorInfo] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        info = _value_info(value)
        known = infos.get(value.name)
        if known is None or (info.shape is not None and info.elem_type is not None):
            infos[value.name] = info  # keep what inference found over a bare declaration
    for init in graph.initializer:
        infos[init.name] = TensorInfo(int(init.data_type), tuple(int(d) for d in init.dims))
    return infos


def _infer(model: Any) -> Any:
    onnx = import_optional("onnx")
    try:
        return onnx.shape_inference.infer_shapes(
            model, check_type=False, strict_mode=False, data_prop=True
        )
    except Exception:  # inference is best effort: rules ask for what they need
        return model


# Ops whose float output has the input's shape, which ONNX does not infer: the ai.onnx.ml
# ones output float32, GroupNormalization (a function op) the input's type.
_SHAPE_PRESERVING_OPS = frozenset(
    {("ai.onnx.ml", "Scaler"), ("ai.onnx.ml", "Normalizer"), ("", "GroupNormalization")}
)


def _shapes_of_shape_preserving_ops(inferred: Any) -> list[Any]:
    """Value infos for the outputs of ``_SHAPE_PRESERVING_OPS`` whose input shape is known."""
    onnx = import_optional("onnx")
    graph = inferred.graph
    known = {v.name: v for v in (*graph.input, *graph.value_info)}
    found = []
    for node in graph.node:
        source = known.get(node.input[0]) if node.input else None
        if (
            (node.domain if node.domain != "ai.onnx" else "", node.op_type) in _SHAPE_PRESERVING_OPS
            and node.output[0] not in known
            and source is not None
            and source.type.tensor_type.HasField("shape")
        ):
            value = onnx.ValueInfoProto()
            value.CopyFrom(source)
            value.name = node.output[0]
            if node.domain == "ai.onnx.ml":
                value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
            found.append(value)
            known[value.name] = value
    return found


def _with_value_infos(model: Any, values: list[Any]) -> Any:
    onnx = import_optional("onnx")
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.graph.value_info.extend(values)
    return copy


def constant_values(graph: Any, skip: frozenset[str] = frozenset()) -> dict[str, np.ndarray]:
    """Values of initializers (but ``skip``) and of ``Constant`` node outputs, by name."""
    onnx = import_optional("onnx")
    to_array = onnx.numpy_helper.to_array
    values = {init.name: to_array(init) for init in graph.initializer if init.name not in skip}
    for node in graph.node:
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
            continue
        attr = node.attribute[0]
        kind = attr.name
        if kind == "value":
            values[node.output[0]] = to_array(attr.t)
        elif kind == "value_float":
            values[node.output[0]] = np.array(attr.f, dtype=np.float32)
        elif kind == "value_floats":
            values[node.output[0]] = np.array(attr.floats, dtype=np.float32)
        elif kind == "value_int":
            values[node.output[0]] = np.array(attr.i, dtype=np.int64)
        elif kind == "value_ints":
            values[node.output[0]] = np.array(attr.ints, dtype=np.int64)
    return values


def numpy_dtype(elem_type: int) -> np.dtype:
    """The numpy dtype of an ONNX element type."""
    onnx = import_optional("onnx")
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))


# Ops whose value is not a function of their inputs, never folded.
_RANDOM_OPS = frozenset(
    {
        "Bernoulli",
        "Multinomial",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
    }
)
_MAX_FOLDED_SIZE = 1 << 16


def fold_constants(nodes: Any, values: dict[str, np.ndarray], opset: int) -> dict[str, np.ndarray]:
    """Evaluate (with onnx.reference) the nodes whose inputs are all constants.

    Exporters compute pads, scales and reshape targets with small constant subgraphs
    (Constant -> Concat -> Reshape -> Cast...). Their values are added to ``values``;
    the newly known ones are returned. Large results are left alone.
    """
    onnx = import_optional("onnx")
    reference = import_optional("onnx.reference")
    helper = onnx.helper
    found: dict[str, np.ndarray] = {}
    for node in nodes:
        inputs = [name for name in node.input if name]
        if (
            not inputs
            or node.domain not in ("", "ai.onnx")
            or node.op_type in _RANDOM_OPS
            or any(
                a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                for a in node.attribute
            )
            or not all(name in values for name in inputs)
            or _generated_size(node, values) > _MAX_FOLDED_SIZE
        ):
            continue
        graph = helper.make_graph(
            [node],
            "fold",
            [
                helper.make_tensor_value_info(
                    n, helper.np_dtype_to_tensor_dtype(values[n].dtype), values[n].shape
                )
                for n in dict.fromkeys(inputs)
            ],
            [helper.make_empty_tensor_value_info(o) for o in node.output if o],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        try:
            outputs = reference.ReferenceEvaluator(model).run(None, {n: values[n] for n in inputs})
        except Exception:  # an op the reference lacks: the node stays a run-time computation
            continue
        for name, value in zip([o for o in node.output if o], outputs, strict=True):
            array = np.asarray(value)
            if array.size <= _MAX_FOLDED_SIZE:
                values[name] = found[name] = array
    return found


def _generated_size(node: Any, values: dict[str, np.ndarray]) -> int:
    """Output size of ops that can make large tensors from small inputs (0 for others)."""
    first = values[node.input[0]]
    try:
        if node.op_type == "ConstantOfShape":
            return int(np.prod(first))
        if node.op_type == "Expand":
            return int(np.prod(np.broadcast_shapes(first.shape, tuple(values[node.input[1]]))))
        if node.op_type == "Tile":
            return int(first.size * np.prod(values[node.input[1]]))
        if node.op_type == "Range":
            start, limit, delta = (float(values[n]) for n in node.input[:3])
            return int(max(0.0, np.ceil((limit - start) / delta)))
    except (ValueError, ZeroDivisionError, OverflowError):
        return _MAX_FOLDED_SIZE + 1  # malformed: leave the node to run time
    return 0


def _with_folded_constants(model: Any, folded: dict[str, np.ndarray]) -> Any:
    """A copy of ``model`` where folded values are initializers instead of nodes."""
    onnx = import_optional("onnx")
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    graph = copy.graph
    kept = [n for n in graph.node if not (n.output and all(o in folded for o in n.output if o))]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(onnx.numpy_helper.from_array(v, k) for k, v in folded.items())
    return copy
