"""What a VJP rule sees: one node, its output adjoints, and a writer for gradient nodes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..utils.optional import import_optional
from .static_info import UNKNOWN, TensorInfo, numpy_dtype


class UnsupportedOperatorError(ValueError):
    """A node on the differentiated path has no gradient rule (or an unsupported variant)."""


class StaticShapeError(UnsupportedOperatorError):
    """A rule needs sizes that are symbolic in the graph (e.g. a Resize of an image of any
    height). :class:`~blackbox_xai.autodiff.DifferentiableOnnxModel` then builds one
    gradient graph per input shape, with the sizes fixed."""


def describe_node(node: Any, index: int) -> str:
    """``Conv node 'conv1'``, or its position when the node has no name."""
    name = repr(node.name) if node.name else f"#{index} (unnamed)"
    return f"{node.op_type} node {name}"


class GraphBuilder:
    """Writes the gradient part of a graph: fresh names, nodes, deduplicated constants.

    Parameters
    ----------
    taken : set of str
        Every node and tensor name already in the model.
    infos : dict
        Static :class:`TensorInfo` by tensor name.
    constants : dict
        Constant tensor values by name (initializers and ``Constant`` nodes).
    """

    def __init__(
        self, taken: set[str], infos: dict[str, TensorInfo], constants: dict[str, np.ndarray]
    ) -> None:
        self.onnx = import_optional("onnx")
        self.taken = set(taken)
        self.infos = infos
        self.constants = constants
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._const_names: dict[tuple[str, tuple[int, ...], bytes], str] = {}
        self._shapes: dict[str, str] = {}

    def fresh(self, base: str) -> str:
        """A name not used anywhere in the graph, ``base`` itself when free."""
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def emit(
        self, op_type: str, inputs: Sequence[str], n_outputs: int, hint: str, attrs: dict[str, Any]
    ) -> list[str]:
        """Append one node and return its (fresh) output names."""
        base = f"grad/{hint}/{op_type}"
        outputs = [
            self.fresh(f"{base}_out{i}" if n_outputs > 1 else base) for i in range(n_outputs)
        ]
        node = self.onnx.helper.make_node(
            op_type, list(inputs), outputs, name=self.fresh(base), **attrs
        )
        self.nodes.append(node)
        return outputs

    def const(self, value: np.ndarray) -> str:
        """An initializer holding ``value`` (shared between equal constants)."""
        array = np.array(value, order="C")  # (ascontiguousarray would make scalars 1-D)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._const_names:
            name = self.fresh("grad/const")
            self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
            self.constants[name] = array
            self.infos[name] = TensorInfo(
                int(self.onnx.helper.np_dtype_to_tensor_dtype(array.dtype)), array.shape
            )
            self._const_names[key] = name
        return self._const_names[key]

    def shape_of(self, tensor: str) -> str:
        """The runtime shape of ``tensor`` (one ``Shape`` node per tensor)."""
        if tensor not in self._shapes:
            self._shapes[tensor] = self.emit("Shape", [tensor], 1, "shape", {})[0]
        return self._shapes[tensor]


class VjpContext:
    """One node seen by its VJP rule.

    Attributes
    ----------
    node : onnx.NodeProto
        The forward node (rules may add an optional output with :meth:`add_output`).
    inputs, outputs : list of str
        Its input and output names (``""`` for a missing optional input).
    grads : list of str or None
        The adjoint of each output, None where no gradient reaches it.
    relu_rule : str
        ``"standard"``, ``"guided"`` or ``"deconv"``.
    """

    def __init__(
        self,
        builder: GraphBuilder,
        node: Any,
        grads: Sequence[str | None],
        needs: Sequence[bool],
        relu_rule: str,
        where: Callable[[], str],
    ) -> None:
        self.builder = builder
        self.node = node
        self.inputs = list(node.input)
        self.outputs = list(node.output)
        self.grads = list(grads)
        self._needs = list(needs)
        self.relu_rule = relu_rule
        self._where = where
        self._hint = node.name or node.op_type

    # -- the node -----------------------------------------------------------------------
    @property
    def grad(self) -> str:
        """The adjoint of the first output."""
        grad = self.grads[0]
        if grad is None:  # a rule for a single-output op only runs when it has one
            raise self.unsupported("no gradient reaches its first output")
        return grad

    def needs(self, i: int) -> bool:
        """True when input ``i`` depends on a differentiated tensor."""
        return i < len(self._needs) and self._needs[i]

    def has_input(self, i: int) -> bool:
        """True when optional input ``i`` is given."""
        return i < len(self.inputs) and self.inputs[i] != ""

    def attr(self, name: str, default: Any = None) -> Any:
        """Attribute ``name`` as a Python value (strings decoded), or ``default``."""
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = self.builder.onnx.helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    return value.decode()
                if isinstance(value, list) and value and isinstance(value[0], bytes):
                    return [v.decode() for v in value]
                return value
        return default

    def value(self, i: int) -> np.ndarray | None:
        """The constant value of input ``i``, None when absent or computed at run time."""
        if not self.has_input(i):
            return None
        return self.builder.constants.get(self.inputs[i])

    def required_value(self, i: int, what: str) -> np.ndarray:
        """The constant value of input ``i``; unsupported when it is computed at run time."""
        value = self.value(i)
        if value is None:
            raise self.unsupported(f"its {what} (input {i}) must be a constant")
        return value

    def info(self, tensor: str) -> TensorInfo:
        """Static element type and shape of ``tensor`` (both None when unknown)."""
        return self.builder.infos.get(tensor, UNKNOWN)

    def shape(self, tensor: str) -> tuple[Any, ...] | None:
        """Static shape (ints, symbolic names or None per axis); None if the rank is unknown."""
        return self.info(tensor).shape

    def rank(self, tensor: str) -> int:
        """Static rank of ``tensor``; unsupported when shape inference could not find it."""
        shape = self.shape(tensor)
        if shape is None:
            raise self.needs_static(f"the rank of {tensor!r} is unknown")
        return len(shape)

    def static_dims(self, tensor: str, axes: Sequence[int] | None = None) -> list[int]:
        """Static sizes of ``tensor`` along ``axes`` (all axes by default)."""
        shape = self.shape(tensor)
        if shape is None:
            raise self.needs_static(f"the shape of {tensor!r} is unknown")
        chosen = range(len(shape)) if axes is None else axes
        dims = [shape[a] for a in chosen]
        if not all(isinstance(d, int) for d in dims):
            raise self.needs_static(
                f"it needs static sizes of {tensor!r} (got {list(shape)}); give the model "
                "fixed input sizes, e.g. with onnx.tools.update_model_dims"
            )
        return [int(d) for d in dims]

    def dtype(self, tensor: str) -> np.dtype:
        """The numpy dtype of a float tensor (float32 when unknown)."""
        elem = self.info(tensor).elem_type
        return numpy_dtype(elem) if elem else np.dtype(np.float32)

    # -- writing gradient nodes ---------------------------------------------------------
    def emit(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        """Append a node with one output; returns the output name."""
        return self.builder.emit(op_type, inputs, 1, self._hint, attrs)[0]

    def emit_n(self, op_type: str, inputs: Sequence[str], n: int, **attrs: Any) -> list[str]:
        """Append a node with ``n`` outputs."""
        return self.builder.emit(op_type, inputs, n, self._hint, attrs)

    def const(self, value: Any) -> str:
        """An initializer holding ``value`` (its numpy dtype kept; equal constants shared)."""
        return self.builder.const(np.asarray(value))

    def scalar(self, value: float, like: str) -> str:
        """A scalar constant of ``like``'s float type."""
        return self.const(np.array(value, dtype=self.dtype(like)))

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant."""
        return self.const(np.array(list(values), dtype=np.int64))

    def shape_of(self, tensor: str) -> str:
        """The runtime shape of ``tensor`` as a 1-D int64 tensor (one Shape node per tensor)."""
        return self.builder.shape_of(tensor)

    def add_output(self, i: int) -> str:
        """Name of optional output ``i`` of the forward node, adding it when absent."""
        while len(self.node.output) <= i:
            self.node.output.append("")
        if not self.node.output[i]:
            self.node.output[i] = self.builder.fresh(f"{self._hint}/output{i}")
        self.outputs = list(self.node.output)
        return str(self.node.output[i])

    def needs_static(self, reason: str) -> StaticShapeError:
        """Like :meth:`unsupported`, for a reason that fixed input sizes remove."""
        return StaticShapeError(f"cannot differentiate {self._where()}: {reason}.")

    def unsupported(self, reason: str) -> UnsupportedOperatorError:
        """An error naming this node, ``reason`` and the path that reaches it."""
        return UnsupportedOperatorError(f"cannot differentiate {self._where()}: {reason}.")

    # -- helpers shared by many rules ---------------------------------------------------
    def chain(self, slope: str) -> list[str | None]:
        """The input gradient ``g * slope`` of an elementwise unary op (``slope = f'(x)``)."""
        return [self.emit("Mul", self.grad, slope)]

    def reduce_sum(self, x: str, axes: Sequence[int], keepdims: bool = True) -> str:
        """``x`` summed over the constant ``axes`` (``x`` itself when there are none)."""
        if not axes:
            return x
        return self.emit("ReduceSum", x, self.ints(axes), keepdims=int(keepdims))

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        """``x`` with size-1 axes inserted at ``axes`` (``x`` itself when there are none)."""
        return self.emit("Unsqueeze", x, self.ints(axes)) if axes else x

    def reshape_like(self, g: str, x: str) -> str:
        """``g`` reshaped to the runtime shape of ``x``."""
        return self.emit("Reshape", g, self.shape_of(x))

    def expand_like(self, g: str, x: str) -> str:
        """``g`` broadcast to the runtime shape of ``x``."""
        return self.emit("Expand", g, self.shape_of(x))

    def zeros_like(self, x: str) -> str:
        """Zeros of ``x``'s runtime shape and float type."""
        zero = self.builder.onnx.numpy_helper.from_array(np.zeros(1, dtype=self.dtype(x)))
        return self.emit("ConstantOfShape", self.shape_of(x), value=zero)

    def size_ratio(self, y: str, x: str) -> str:
        """``size(y) / size(x)`` as a scalar of ``x``'s type, computed at run time.

        For a mean over some axes of ``x`` giving ``y``, the weight of each element.
        """
        elem = self.info(x).elem_type or 1
        sizes = [self.emit("Cast", self.emit("Size", t), to=elem) for t in (y, x)]
        return self.emit("Div", *sizes)

    def equal_mask(self, x: str, y: str) -> str:
        """1 where ``x == y`` (broadcasting), 0 elsewhere, in ``x``'s float type."""
        elem = self.info(x).elem_type or 1
        return self.emit("Cast", self.emit("Equal", x, y), to=elem)

    def split_among_ties(self, x: str, y: str, g: str, count: Callable[[str], str]) -> str:
        """Gradient of an extremum ``y`` (kept dims) over ``x``: ``g`` shared evenly by
        the elements of ``x`` equal to ``y``; ``count`` sums a mask over the reduced axes."""
        mask = self.equal_mask(x, y)
        return self.emit("Mul", mask, self.emit("Div", g, count(mask)))

    def masked(self, mask: str, g: str, like: str) -> str:
        """``g`` where the boolean ``mask`` holds, zero elsewhere.

        Written ``g * float(mask)``: ONNX Runtime's Where is ten times slower than a
        Cast and a Mul on CPU (measured on a ReLU's backward pass). The results differ
        only for non-finite gradients, which the model's outputs never give.
        """
        return self.emit("Mul", g, self.emit("Cast", mask, to=self.info(like).elem_type or 1))

    def where_positive(self, mask_of: str, g: str, like: str) -> str:
        """``g`` where ``mask_of > 0``, zero elsewhere."""
        return self.masked(self.emit("Greater", mask_of, self.scalar(0.0, like)), g, like)

    def unbroadcast(
        self, g: str, x: str, y: str | None = None, g_shape: Sequence[Any] | None = None
    ) -> str:
        """Sum ``g`` down to ``x``'s shape, undoing numpy-style broadcasting.

        ``g`` is shaped like ``y`` (the node's first output by default) or ``g_shape``.
        ReduceSum runs over the axes ``x`` was broadcast along, then Reshape gives ``x``'s
        runtime shape. Axes are chosen from static shapes when they decide it, at run
        time otherwise.
        """
        xs = self.shape(x)
        ys = tuple(g_shape) if g_shape is not None else self.shape(y or self.outputs[0])
        if xs is not None and ys is not None and len(ys) >= len(xs):
            lead = len(ys) - len(xs)
            axes = list(range(lead))
            decided = True
            for i, (dx, dy) in enumerate(zip(xs, ys[lead:], strict=True)):
                if dx == 1 and dy != 1:
                    axes.append(lead + i)
                elif not (isinstance(dx, int) or (dx is not None and dx == dy)):
                    decided = False  # a symbolic/unknown size might be 1 at run time
            if decided:
                if not axes:
                    return g
                summed = self.reduce_sum(g, axes, keepdims=True)
                return self.reshape_like(summed, x) if lead else summed
        return self._unbroadcast_at_runtime(g, x)

    def _unbroadcast_at_runtime(self, g: str, x: str) -> str:
        x_shape, g_shape = self.shape_of(x), self.emit("Shape", g)
        # Left-pad x's shape with ones to g's rank, then sum over every axis of size 1.
        lead = self.emit("Sub", self.emit("Size", g_shape), self.emit("Size", x_shape))
        one = self.builder.onnx.numpy_helper.from_array(np.ones(1, dtype=np.int64))
        ones = self.emit("ConstantOfShape", self.unsqueeze(lead, [0]), value=one)
        padded = self.emit("Concat", ones, x_shape, axis=0)
        axes = self.emit("NonZero", self.emit("Equal", padded, self.ints([1])))
        axes = self.emit("Reshape", axes, self.ints([-1]))
        summed = self.emit("ReduceSum", g, axes, keepdims=1, noop_with_empty_axes=1)
        return self.reshape_like(summed, x)

    def index_map(self, x: str) -> str:
        """An int64 tensor shaped like ``x`` holding 0, 1, ... in row-major order."""
        size = self.emit("Size", x)
        flat = self.emit(
            "Range", self.const(np.array(0, np.int64)), size, self.const(np.array(1, np.int64))
        )
        return self.reshape_like(flat, x)

    def scatter_add(self, g: str, flat_index: str, x: str) -> str:
        """Gradient for ``x`` from ``g`` whose elements come from ``x``'s flat positions."""
        size = self.unsqueeze(self.emit("Size", x), [0])
        zero = self.builder.onnx.numpy_helper.from_array(np.zeros(1, dtype=self.dtype(x)))
        zeros = self.emit("ConstantOfShape", size, value=zero)
        flat_g = self.emit("Reshape", g, self.ints([-1]))
        flat_i = self.emit("Reshape", flat_index, self.ints([-1]))
        summed = self.emit("ScatterElements", zeros, flat_i, flat_g, axis=0, reduction="add")
        return self.reshape_like(summed, x)

    def replay(self, substitutions: dict[int, str], **attrs: Any) -> str:
        """Emit a copy of the forward node with some inputs (and attributes) replaced.

        Data-movement ops (Slice, Tile, Pad, Gather...) replayed on :meth:`index_map`
        tell which input element every output element came from.
        """
        inputs = [substitutions.get(i, name) for i, name in enumerate(self.inputs)]
        merged = {a.name: self.attr(a.name) for a in self.node.attribute}
        merged.update(attrs)
        return self.emit(self.node.op_type, *inputs, **merged)

    def through_index_map(self, data: int = 0, **attrs: Any) -> str:
        """Gradient for data input ``data`` of a data-movement op: scatter-add ``g`` back."""
        x = self.inputs[data]
        selected = self.replay({data: self.index_map(x)}, **attrs)
        return self.scatter_add(self.grad, selected, x)
