"""Class activation maps brought to the input's size: separable (bi)linear or nearest
interpolation with half-pixel centres.

Written here rather than taken from scipy or scikit-image because the maps must match
``torch.nn.functional.interpolate(..., align_corners=False)`` (what captum uses): the
half-pixel mapping, clamped at the borders, of which ``scipy.ndimage.zoom`` and
``skimage.transform.resize`` each use another variant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MODES = ("bilinear", "nearest")


def interpolation_matrix(size_in: int, size_out: int, mode: str) -> np.ndarray:
    """The ``(size_out, size_in)`` matrix of a 1-D resize."""
    matrix = np.zeros((size_out, size_in))
    scale = size_in / size_out
    out = np.arange(size_out)
    if mode == "nearest":
        matrix[out, np.minimum((out * scale).astype(np.int64), size_in - 1)] = 1.0
        return matrix
    source = np.maximum((out + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    weight = source - low
    np.add.at(matrix, (out, low), 1.0 - weight)
    np.add.at(matrix, (out, high), weight)
    return matrix


def resize_maps(maps: np.ndarray, size: Sequence[int], mode: str = "bilinear") -> np.ndarray:
    """``maps`` ``(n, *spatial)`` resized to ``(n, *size)``, axis by axis."""
    if len(size) != maps.ndim - 1:
        raise ValueError(
            f"cannot resize maps with {maps.ndim - 1} spatial axes {maps.shape[1:]} to the "
            f"input's {len(size)} spatial axes {tuple(size)}; pass upsample=False."
        )
    out = maps
    for axis, target in enumerate(size, start=1):
        if out.shape[axis] != target:
            matrix = interpolation_matrix(out.shape[axis], int(target), mode)
            out = np.moveaxis(np.tensordot(matrix, out, axes=([1], [axis])), 0, axis)
    return out
