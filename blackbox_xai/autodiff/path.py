"""Which nodes lie between the differentiated tensors and the differentiated outputs.

A tensor is *active* when it is a float tensor computed from a differentiated tensor;
integer and shape subgraphs (Shape, Gather on shapes, Range, comparisons...) are never
active, so they stay constants of the gradient graph. A node is *on the path* when one of
its inputs is active and one of its outputs leads to a differentiated output.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .static_info import UNKNOWN, TensorInfo


def node_inputs(node: Any, ignored: Collection[int] = ()) -> list[str]:
    """Explicit inputs (but positions ``ignored``) and the outer-scope tensors its subgraphs read."""
    names = [n for i, n in enumerate(node.input) if n and i not in ignored]
    for attr in node.attribute:
        graphs = [attr.g] if attr.HasField("g") else list(attr.graphs)
        for graph in graphs:
            names.extend(_outer_names(graph))
    return names


def _outer_names(graph: Any) -> set[str]:
    defined = {v.name for v in graph.input} | {i.name for i in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(n for n in node_inputs(node) if n not in defined)
        defined.update(node.output)
    used.update(o.name for o in graph.output if o.name not in defined)
    return used


def topological_order(nodes: Sequence[Any], available: Iterable[str]) -> list[Any]:
    """The nodes in an order where every input is computed first (stable)."""
    ready = set(available)
    pending = list(nodes)
    ordered: list[Any] = []
    while pending:
        waiting = []
        for node in pending:
            if all(n in ready for n in node_inputs(node)):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):  # a cycle or an undefined input: keep the file's order
            return ordered + waiting
        pending = waiting
    return ordered


@dataclass
class DifferentiablePath:
    """The result of :func:`find_path`."""

    nodes: list[Any]
    active: set[str]
    needed: set[str]
    parents: dict[str, tuple[int, str]] = field(default_factory=dict)
    index: dict[int, int] = field(default_factory=dict)

    def trace(self, tensor: str, nodes: Sequence[Any]) -> list[tuple[Any, int]]:
        """Nodes (with their positions) from a differentiated tensor to ``tensor``."""
        steps: list[tuple[Any, int]] = []
        while tensor in self.parents:
            position, tensor = self.parents[tensor]
            steps.append((nodes[position], position))
        steps.reverse()
        return steps

    def source(self, tensor: str) -> str:
        """The differentiated tensor that ``tensor`` was computed from."""
        while tensor in self.parents:
            tensor = self.parents[tensor][1]
        return tensor


def find_path(
    nodes: Sequence[Any],
    wrt: Sequence[str],
    outputs: Sequence[str],
    infos: dict[str, TensorInfo],
    ignored: Callable[[Any], Collection[int]] = lambda node: (),
) -> DifferentiablePath:
    """Mark active tensors forward from ``wrt``, then needed ones backward from ``outputs``.

    ``ignored(node)`` names input positions whose values do not matter (CastLike's type
    donor), so they do not make the node's outputs active.
    """
    active = set(wrt)
    parents: dict[str, tuple[int, str]] = {}
    for position, node in enumerate(nodes):
        source = next((n for n in node_inputs(node, ignored(node)) if n in active), None)
        if source is None:
            continue
        for out in node.output:
            if out and out not in active and infos.get(out, UNKNOWN).is_float:
                active.add(out)
                parents[out] = (position, source)
    needed = {o for o in outputs if o in active}
    on_path: list[Any] = []
    index: dict[int, int] = {}
    for position in range(len(nodes) - 1, -1, -1):
        node = nodes[position]
        if not any(o in needed for o in node.output if o):
            continue
        active_inputs = [n for n in node_inputs(node, ignored(node)) if n in active]
        if active_inputs:
            on_path.append(node)
            index[id(node)] = position
            needed.update(active_inputs)
    on_path.reverse()
    return DifferentiablePath(on_path, active, needed, parents, index)
