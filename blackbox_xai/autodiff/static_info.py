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


def tensor_infos(model: Any) -> dict[str, TensorInfo]:
    """Type and shape of every tensor that ONNX shape inference can describe."""
    onnx = import_optional("onnx")
    try:
        inferred = onnx.shape_inference.infer_shapes(
            model, check_type=False, strict_mode=False, data_prop=True
        )
    except Exception:  # inference is best effort: rules ask for what they need
        inferred = model
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
