"""Receptive fields of a convolutional layer's positions, read from the ONNX graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...autodiff.layers import GraphIndex

#: Ops that keep positions where they are (per-position maps, or a per-channel affine).
_POSITIONWISE = frozenset(
    {
        "Relu",
        "LeakyRelu",
        "Elu",
        "Selu",
        "Sigmoid",
        "Tanh",
        "HardSigmoid",
        "HardSwish",
        "Softplus",
        "Gelu",
        "Mish",
        "Identity",
        "Dropout",
        "BatchNormalization",
        "InstanceNormalization",
        "Clip",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Cast",
    }
)
_WINDOWED = frozenset({"Conv", "MaxPool", "AveragePool", "LpPool"})


@dataclass(frozen=True)
class ReceptiveField:
    """Position ``o`` of the layer sees input indices ``[o * stride + start, o * stride + stop)``
    along each spatial axis (before clipping to the input)."""

    stride: tuple[int, ...]
    start: tuple[int, ...]
    stop: tuple[int, ...]

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in zip(self.start, self.stop, strict=True))

    def boxes(self, positions: np.ndarray, extent: tuple[int, ...]) -> np.ndarray:
        """``[start, stop)`` per axis ``(..., n_axes, 2)`` for ``positions (..., n_axes)``,
        clipped to an input of spatial size ``extent``."""
        stride = np.asarray(self.stride)
        low = positions * stride + np.asarray(self.start)
        high = positions * stride + np.asarray(self.stop)
        return np.stack([np.clip(low, 0, extent), np.clip(high, 0, extent)], axis=-1)


def receptive_field(index: GraphIndex, layer: str, n_axes: int) -> ReceptiveField:
    """The receptive field of ``layer``'s positions, by walking its chain to the input.

    Each window op (Conv, pooling) with kernel ``k``, stride ``s``, begin pad ``p`` and
    dilation ``d`` maps a window of positions ``[o s - p, o s - p + (k - 1) d]`` below it;
    composing them gives the field. Raises a ValueError naming the op when the path
    holds one that moves positions otherwise (a resize, a reshape, a concatenation).
    """
    stride = [1] * n_axes
    start = [0] * n_axes
    stop = [1] * n_axes
    chain = []
    tensor = layer
    while tensor in index.producer:
        node = index.producer[tensor]
        data = [
            name
            for name in node.input
            if name and name not in index.weights and name not in index.constant_names
        ]
        if node.op_type not in _POSITIONWISE | _WINDOWED or len(data) != 1:
            raise ValueError(
                f"cannot trace the receptive field of layer {layer!r} through the "
                f"{node.op_type} node {node.name!r} (only convolutions, pooling and per-position "
                "ops are understood); use a layer below it, or patches=False."
            )
        chain.append(node)
        tensor = data[0]
    for node in reversed(chain):  # from the input up
        if node.op_type not in _WINDOWED:
            continue
        kernel, strides, pads, dilations = _window(index, node, n_axes)
        for a in range(n_axes):
            # the layer below's positions o*s - p ... o*s - p + (k-1)*d, in input units
            start[a] = start[a] - pads[a] * stride[a]
            stop[a] = stop[a] - 1 + (-pads[a] + (kernel[a] - 1) * dilations[a]) * stride[a] + 1
            stride[a] *= strides[a]
    return ReceptiveField(tuple(stride), tuple(start), tuple(stop))


def _window(index: GraphIndex, node: Any, n_axes: int) -> tuple[list[int], ...]:
    attrs = {a.name: a for a in node.attribute}

    def ints(name: str, default: list[int]) -> list[int]:
        return list(attrs[name].ints) if name in attrs else default

    auto_pad = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
    if auto_pad not in ("NOTSET", "VALID"):
        raise ValueError(
            f"the {node.op_type} node {node.name!r} pads with auto_pad={auto_pad}; the "
            "receptive field is traced for explicit pads only."
        )
    if node.op_type == "Conv":
        weight = index.info(node.input[1]).shape
        if weight is None or not all(isinstance(d, int) for d in weight[2:]):
            raise ValueError(f"the Conv node {node.name!r} has no static kernel shape.")
        kernel = ints("kernel_shape", [int(d) for d in weight[2:]])  # type: ignore[arg-type]
    else:
        kernel = ints("kernel_shape", [1] * n_axes)
    if len(kernel) != n_axes:
        raise ValueError(f"the {node.op_type} node {node.name!r} has {len(kernel)} spatial axes.")
    strides = ints("strides", [1] * n_axes)
    pads = ints("pads", [0] * (2 * n_axes))[:n_axes]
    dilations = ints("dilations", [1] * n_axes)
    return kernel, strides, pads, dilations
