"""Layers of an ONNX graph: list them, resolve a name, expose or cut at a tensor.

Layer-based methods (Grad-CAM, layer integrated gradients on embeddings, TCAV, feature
visualisation) name a tensor of the model: by the tensor's name, or by the name of the
node that produces it. :func:`list_layers` says which names exist (with the producing op
and the static shape), :func:`resolve_layer` turns a name into a :class:`Layer` and lists
close candidates when the name does not exist. :func:`expose_tensor` makes an
intermediate tensor a graph output (to explain the logits that feed a Softmax);
:func:`cut_at` makes a tensor a graph input, so its values can be set (to integrate in
embedding space).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models.onnx import load_model_bytes
from ..utils.optional import import_optional
from .path import node_inputs, topological_order
from .static_info import FLOAT_TYPES, TensorInfo, constant_values, tensor_infos

#: Ops that only move or relabel data: a Softmax seen through them still ends the graph.
_PASS_THROUGH = frozenset({"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast"})
_SOFTMAX_OPS = ("Softmax", "LogSoftmax")
#: How many candidates an error message lists.
_SHOWN = 25


@dataclass(frozen=True)
class Layer:
    """A float tensor computed by the graph.

    Attributes
    ----------
    name : str
        The tensor's name (what ``wrt=`` / ``layer=`` take).
    op_type : str
        The op that produces it (``"input"`` for a graph input).
    node : str
        The producing node's name (``""`` when unnamed or an input).
    shape : tuple or None
        Static shape: ints, symbolic names (``"batch"``) or None per axis; None when the
        rank is unknown.
    """

    name: str
    op_type: str
    node: str
    shape: tuple[int | str | None, ...] | None

    @property
    def rank(self) -> int | None:
        """Number of axes, None when unknown."""
        return None if self.shape is None else len(self.shape)

    def describe(self) -> str:
        """``'conv3_out' (Relu node 'relu3', shape (batch, 16, 8, 8))``."""
        node = f" node {self.node!r}" if self.node else ""
        dims = "?" if self.shape is None else ", ".join(str(d) for d in self.shape)
        return f"{self.name!r} ({self.op_type}{node}, shape ({dims}))"


class GraphIndex:
    """Producers, consumers and static shapes of one model's tensors.

    Parameters
    ----------
    model : DifferentiableOnnxModel, OnnxModel, onnx.ModelProto, bytes or path
        The model (anything with ``model_bytes``, or an ONNX source).
    """

    def __init__(self, model: Any) -> None:
        onnx = import_optional("onnx")
        raw = getattr(model, "model_bytes", None)
        if raw is None:
            raw, _ = load_model_bytes(model)
        self.proto = onnx.load_model_from_string(raw)
        graph = self.proto.graph
        self.weights = {i.name for i in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in self.weights]
        self.outputs = [o.name for o in graph.output]
        self.nodes = topological_order(list(graph.node), [*self.inputs, *sorted(self.weights)])
        self.producer: dict[str, Any] = {}
        self.consumers: dict[str, list[Any]] = {}
        for node in self.nodes:
            for out in node.output:
                if out:
                    self.producer[out] = node
            for name in node_inputs(node):
                self.consumers.setdefault(name, []).append(node)
        self.constant_names = {
            n.output[0] for n in self.nodes if n.op_type == "Constant" and n.output
        }
        self.infos = _shapes(self.proto)

    def constant(self, name: str) -> Any:
        """The value of a weight or ``Constant`` output as a numpy array, None otherwise."""
        onnx = import_optional("onnx")
        for init in self.proto.graph.initializer:
            if init.name == name:
                return onnx.numpy_helper.to_array(init)
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant":
            return constant_values(_graph_of(onnx, node)).get(name)
        return None

    def info(self, name: str) -> TensorInfo:
        """Element type and static shape of ``name`` (both None when unknown)."""
        return self.infos.get(name, TensorInfo(None, None))

    def layer(self, name: str) -> Layer:
        """The :class:`Layer` of tensor ``name`` (an input or a node output)."""
        node = self.producer.get(name)
        return Layer(
            name,
            node.op_type if node is not None else "input",
            (node.name if node is not None else ""),
            self.info(name).shape,
        )

    def layers(self, min_rank: int = 0) -> list[Layer]:
        """Float inputs and node outputs of rank >= ``min_rank``, in graph order."""
        names = [*self.inputs, *(o for n in self.nodes for o in n.output if o)]
        found = []
        for name in dict.fromkeys(names):
            info = self.info(name)
            if info.elem_type not in FLOAT_TYPES:
                continue
            if info.shape is not None and len(info.shape) < min_rank:
                continue
            found.append(self.layer(name))
        return found

    def resolve(self, name: str, min_rank: int = 0, what: str = "layer") -> Layer:
        """The layer named ``name``: a tensor, or the node that produces it.

        A node name stands for its first float output. Raises a ValueError listing
        candidates (the closest names first) when nothing matches.
        """
        if not isinstance(name, str):
            raise TypeError(f"{what} must be a tensor or node name (str), got {name!r}.")
        candidates = self.layers(min_rank)
        if name in self.producer or name in self.inputs:
            layer = self.layer(name)
        else:
            by_node = [n for n in self.nodes if n.name == name]
            floats = [
                o for n in by_node for o in n.output if o and self.info(o).elem_type in FLOAT_TYPES
            ]
            if not floats:
                raise ValueError(
                    f"{what} {name!r} is neither a tensor nor a node of the model; "
                    + describe_candidates(candidates, name)
                )
            layer = self.layer(floats[0])
        info = self.info(layer.name)
        if info.elem_type is not None and info.elem_type not in FLOAT_TYPES:
            raise ValueError(
                f"{what} {name!r} is not a float tensor (element type {info.elem_type}); "
                + describe_candidates(candidates, name)
            )
        if min_rank and layer.rank is not None and layer.rank < min_rank:
            raise ValueError(
                f"{what} {layer.describe()} has rank {layer.rank}, but at least {min_rank} axes "
                "are needed; " + describe_candidates(candidates, name)
            )
        return layer

    def softmax_feeding(self, output: str) -> Any | None:
        """The Softmax / LogSoftmax node whose result is ``output`` (seen through
        reshapes and casts), None when there is none."""
        tensor = output
        while tensor in self.producer:
            node = self.producer[tensor]
            if node.op_type in _SOFTMAX_OPS:
                return node
            if node.op_type not in _PASS_THROUGH:
                return None
            tensor = node.input[0]
        return None

    def logits(self, output: str) -> str:
        """The tensor that the Softmax / LogSoftmax ending at ``output`` normalises."""
        node = self.softmax_feeding(output)
        if node is None:
            end = self.producer.get(output)
            raise ValueError(
                f"output='logits' needs a graph that ends in Softmax or LogSoftmax, but "
                f"{output!r} is computed by {end.op_type if end is not None else 'no node'}; "
                "name the tensor to explain instead, e.g. output=<the input of the last "
                "Softmax> (blackbox_xai.autodiff.list_layers(model) lists them)."
            )
        return str(node.input[0])


def describe_candidates(candidates: Sequence[Layer], near: str) -> str:
    """``candidates are 'a' (Conv ...), ...`` with the names closest to ``near`` first."""
    if not candidates:
        return "the model has no float tensors to choose from."
    names = [c.name for c in candidates]
    close = difflib.get_close_matches(near, names, n=_SHOWN, cutoff=0.0)
    order = {name: i for i, name in enumerate(close)}
    ranked = sorted(candidates, key=lambda c: order.get(c.name, len(order)))
    shown = ", ".join(c.describe() for c in ranked[:_SHOWN])
    more = len(candidates) - _SHOWN
    tail = (
        f", and {more} more (blackbox_xai.autodiff.list_layers(model) lists all)"
        if more > 0
        else ""
    )
    return f"candidates are {shown}{tail}."


def list_layers(model: Any, min_rank: int = 0) -> list[Layer]:
    """The float tensors of a model that ``layer=`` / ``wrt=`` may name, in graph order.

    Parameters
    ----------
    model : DifferentiableOnnxModel, OnnxModel, onnx.ModelProto, bytes or path
    min_rank : int
        Only tensors with at least this many axes (4 for the feature maps of a CNN).

    Returns
    -------
    list of Layer
        Name, producing op and node, static shape of each tensor.

    Examples
    --------
    >>> for layer in bx.autodiff.list_layers("cnn.onnx", min_rank=4):  # doctest: +SKIP
    ...     print(layer.describe())
    'x' (input, shape (batch, 3, 32, 32))
    'relu1' (Relu node 'features.1', shape (batch, 8, 32, 32))
    """
    return GraphIndex(model).layers(min_rank)


def resolve_layer(model: Any, name: str, min_rank: int = 0) -> Layer:
    """The layer a tensor or node name stands for (see :meth:`GraphIndex.resolve`).

    Raises
    ------
    ValueError
        ``name`` is no tensor or node of the model (the message lists candidates), is
        not a float tensor, or has fewer than ``min_rank`` axes.
    """
    return GraphIndex(model).resolve(name, min_rank)


def expose_tensor(proto: Any, name: str) -> Any:
    """A copy of ``proto`` with tensor ``name`` added to the graph outputs."""
    onnx = import_optional("onnx")
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    if name not in {o.name for o in copy.graph.output}:
        info = _shapes(copy).get(name, TensorInfo(None, None))
        copy.graph.output.append(_value_info(onnx, name, info))
    return copy


def with_output(
    source: Any, output: str | None, providers: Sequence[str] | None
) -> tuple[Any, str | None, Sequence[str] | None]:
    """``(source, output, providers)`` with ``output`` made a graph output when needed.

    ``output`` may be a graph output (nothing changes), ``"logits"`` (the input of the
    Softmax / LogSoftmax ending the first graph output that has one), or any float
    tensor or node name of the model. Providers of a session source are kept.
    """
    if output is None:
        return source, output, providers
    raw, session_providers = load_model_bytes(source)
    index = GraphIndex(raw)
    if output in index.outputs:
        return source, output, providers
    if output == "logits" and output not in index.producer:
        ends = [o for o in index.outputs if index.softmax_feeding(o) is not None]
        name = index.logits(ends[0] if ends else index.outputs[0])
    else:
        name = index.resolve(output, what="output").name
    return expose_tensor(index.proto, name), name, providers or session_providers


def cut_at(proto: Any, tensor: str, outputs: Sequence[str]) -> Any:
    """A copy of ``proto`` where ``tensor`` is a graph input and ``outputs`` the outputs.

    The node that computed ``tensor`` keeps running only when other needed tensors come
    from it (its copy of ``tensor`` is renamed); nodes, inputs and weights no output
    needs any more are dropped (token ids stay inputs when e.g. an attention mask is
    computed from them).
    """
    onnx = import_optional("onnx")
    infos = _shapes(proto)
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    graph = copy.graph
    taken = {o for n in graph.node for o in n.output} | {i.name for i in graph.input}
    computed = f"{tensor}__computed"
    while computed in taken:
        computed += "_"
    for node in graph.node:
        for i, out in enumerate(node.output):
            if out == tensor:
                node.output[i] = computed
    inputs = [i for i in graph.input if i.name != tensor]
    needed = set(outputs)
    kept = []
    for node in reversed(topological_order(list(graph.node), [i.name for i in graph.input])):
        if any(o in needed for o in node.output if o):
            kept.append(node)
            needed.update(node_inputs(node))
    del graph.node[:]
    graph.node.extend(reversed(kept))
    info = infos.get(tensor, TensorInfo(None, None))
    del graph.input[:]
    graph.input.extend([_value_info(onnx, tensor, info), *(i for i in inputs if i.name in needed)])
    used = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)
    declared = {o.name: o for o in graph.output}
    del graph.output[:]
    graph.output.extend(
        declared[o] if o in declared else _value_info(onnx, o, infos.get(o, TensorInfo(None, None)))
        for o in outputs
    )
    del graph.value_info[:]
    return copy


def _graph_of(onnx: Any, node: Any) -> Any:
    return onnx.helper.make_graph([node], "constant", [], [])


def _value_info(onnx: Any, name: str, info: TensorInfo) -> Any:
    shape = None if info.shape is None else list(info.shape)
    return onnx.helper.make_tensor_value_info(name, info.elem_type or onnx.TensorProto.FLOAT, shape)


def _shapes(proto: Any) -> dict[str, TensorInfo]:
    """Static types and shapes of every tensor (weights' bytes set aside for speed)."""
    onnx = import_optional("onnx")
    light = onnx.ModelProto()
    light.CopyFrom(proto)
    for init in light.graph.initializer:
        if len(init.raw_data) >= 4096:  # shape inference reads dims, not values
            init.ClearField("raw_data")
    del light.graph.value_info[:]  # stored shapes may be stale (a batch of 1)
    return tensor_infos(light)
