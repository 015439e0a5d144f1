"""What class activation maps need to know of a graph: global poolings, the layer they
pool, and whether the head after them is linear (CAM's requirement)."""

from __future__ import annotations

from typing import Any

from ...autodiff.layers import GraphIndex, Layer, describe_candidates
from ...autodiff.path import node_inputs

#: Ops linear in each input (or the sum of their inputs): a head made of them keeps the
#: class score a weighted sum of the pooled channels.
_LINEAR = frozenset(
    {
        "Identity",
        "Flatten",
        "Reshape",
        "Squeeze",
        "Unsqueeze",
        "Dropout",
        "Transpose",
        "Cast",
        "Add",
        "Sub",
        "Neg",
        "Sum",
        "Concat",
        "Split",
        "Slice",
        "Gather",
        "Pad",
        "Expand",
        "Tile",
        "BatchNormalization",
        "ReduceSum",
        "ReduceMean",
        "GlobalAveragePool",
        "AveragePool",
    }
)
#: Products: linear when a single input comes from the pooled features.
_PRODUCTS = frozenset({"Mul", "MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum"})


def is_global_pool(graph: GraphIndex, node: Any) -> bool:
    """GlobalAveragePool, or a ReduceMean / AveragePool over every spatial axis."""
    if node.op_type == "GlobalAveragePool":
        return True
    shape = graph.info(node.input[0]).shape if node.input else None
    if shape is None or len(shape) < 3:
        return False
    spatial = list(range(2, len(shape)))
    if node.op_type == "ReduceMean":
        axes = _attr(node, "axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            value = graph.constant(node.input[1])
            axes = None if value is None else [int(a) for a in value.ravel()]
        return axes is not None and sorted(a % len(shape) for a in axes) == spatial
    if node.op_type == "AveragePool":
        kernel = _attr(node, "kernel_shape") or []
        pads = _attr(node, "pads") or [0] * (2 * len(spatial))
        return list(kernel) == [shape[a] for a in spatial] and not any(pads)
    return False


def _attr(node: Any, name: str) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return list(attribute.ints) if attribute.ints else None
    return None


def ancestors(graph: GraphIndex, tensor: str) -> set[str]:
    """Every tensor ``tensor`` is computed from, itself included."""
    seen, todo = {tensor}, [tensor]
    while todo:
        node = graph.producer.get(todo.pop())
        if node is None:
            continue
        for name in node_inputs(node):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def descendants(graph: GraphIndex, tensor: str, avoid: Any = None) -> set[str]:
    """Every tensor computed from ``tensor`` (itself included), not through node ``avoid``."""
    seen, todo = {tensor}, [tensor]
    while todo:
        for node in graph.consumers.get(todo.pop(), []):
            if node is avoid:
                continue
            for out in node.output:
                if out and out not in seen:
                    seen.add(out)
                    todo.append(out)
    return seen


def default_layer(graph: GraphIndex, output: str, min_rank: int) -> Layer:
    """The tensor the last global pooling before ``output`` averages; without a pooling,
    the last tensor of rank >= 4 that ``output`` is computed from."""
    upstream = ancestors(graph, output)
    pools = [
        n for n in graph.nodes if n.output and n.output[0] in upstream and is_global_pool(graph, n)
    ]
    if pools:
        return graph.layer(pools[-1].input[0])
    maps = [layer for layer in graph.layers(min_rank=4) if layer.name in upstream]
    if maps:
        return maps[-1]
    raise ValueError(
        f"found no global pooling and no 4-D feature map that {output!r} is computed from; "
        "pass layer= the activation to map; " + describe_candidates(graph.layers(min_rank), "")
    )


def check_cam_structure(graph: GraphIndex, layer: str, output: str) -> Any:
    """The global pooling of ``layer`` behind which ``output`` is linear (CAM, Zhou et
    al. 2016); a ValueError naming what is missing otherwise."""
    hint = (
        "CAM needs the layer to be globally average-pooled and followed by a linear head "
        "(Zhou et al. 2016); use GradCam, which needs neither"
    )
    pools = [n for n in graph.consumers.get(layer, []) if is_global_pool(graph, n)]
    if len(pools) != 1:
        raise ValueError(f"{hint}: no global average pooling reads {layer!r}.")
    pool = pools[0]
    if output in descendants(graph, layer, avoid=pool):
        raise ValueError(
            f"{hint}: {output!r} depends on {layer!r} other than through the pooling "
            f"{pool.op_type} node {pool.name!r}."
        )
    pooled = descendants(graph, pool.output[0])
    upstream = ancestors(graph, output)
    for node in graph.nodes:
        outputs = [o for o in node.output if o]
        if not any(o in upstream for o in outputs) or not any(
            i in pooled for i in node_inputs(node)
        ):
            continue
        if node.op_type in _LINEAR:
            continue
        on_path = [i for i in node_inputs(node) if i in pooled]
        if node.op_type in _PRODUCTS and len(on_path) == 1:
            continue
        if node.op_type == "Div" and on_path == [node.input[0]]:
            continue
        softmax = " (explain the logits: output='logits')" if "Softmax" in node.op_type else ""
        raise ValueError(
            f"{hint}: the {node.op_type} node {node.name!r} between the pooling and "
            f"{output!r} is not linear{softmax}."
        )
    return pool
