"""Figures of the concept tools (matplotlib, imported when called: the ``plot`` extra).

``plot_tcav`` (scores with error bars, the random null and significance),
``plot_feature_visualization`` and ``plot_images`` (grids of inputs),
``plot_top_activations`` (each unit's top patches), ``plot_layer_activations`` (one
input's feature maps) and ``plot_feature_map`` (a 2-D map with thumbnails). Each
returns a matplotlib ``Figure`` (or the ``Axes`` drawn on, when one is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..results.concepts import FeatureVisualizationResult, TcavResult, TopActivationsResult
from ..utils.optional import import_optional


def _figure(n_rows: int, n_cols: int, cell: float = 1.4) -> tuple[Any, np.ndarray]:
    figure_module = import_optional("matplotlib.figure")
    fig = figure_module.Figure(figsize=(max(2.0, cell * n_cols), max(1.6, cell * n_rows)))
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def as_displayable(image: np.ndarray) -> np.ndarray:
    """An image ``(C, H, W)``, ``(H, W, C)`` or ``(H, W)`` as ``(H, W)`` or ``(H, W, 3)`` in [0, 1].

    Each image is stretched to its own range (constant images become grey).
    """
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):  # channels first, as the models take
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"cannot show an array of shape {np.shape(image)} as an image.")
    low, high = float(arr.min()), float(arr.max())
    return np.full_like(arr, 0.5) if high == low else (arr - low) / (high - low)


def plot_images(
    images: Any, titles: Sequence[str] | None = None, n_cols: int = 8, cmap: str = "gray"
) -> Any:
    """A grid of images (``(n, C, H, W)``, ``(n, H, W)``...), each with an optional title."""
    arr = np.asarray(images)
    n = len(arr)
    if n == 0:
        raise ValueError("no images to plot.")
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images.")
    cols = min(n_cols, n)
    rows = -(-n // cols)
    fig, axes = _figure(rows, cols)
    for i, ax in enumerate(axes.ravel()[:n]):
        ax.imshow(as_displayable(arr[i]), cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return fig


def plot_feature_visualization(
    result: FeatureVisualizationResult, image_shape: Sequence[int] | None = None
) -> Any:
    """The optimised images, titled with their objective values.

    ``image_shape`` reshapes flat inputs (as given to the visualisation).
    """
    images = result.images
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    elif images.ndim == 2:
        raise ValueError("the images are flat rows; pass image_shape=(H, W) to show them.")
    titles = [f"{v:.3g}" for v in result.values]
    fig = plot_images(images, titles)
    fig.suptitle(" ".join(str(p) for p in result.objective), fontsize=9)
    return fig


def plot_top_activations(
    result: TopActivationsResult, units: Sequence[int] | None = None, cmap: str = "gray"
) -> Any:
    """One row per unit: its top patches (or, without patches, nothing to draw: error)."""
    if result.patches is None:
        raise ValueError(
            "this result has no patches (a layer without spatial axes, or patches=False); "
            "plot the inputs at result.indices with plot_images instead."
        )
    chosen = list(range(len(result.patches))) if units is None else list(units)
    k = max(len(result.patches[u]) for u in chosen)
    fig, axes = _figure(len(chosen), k, cell=1.1)
    for r, unit in enumerate(chosen):
        for c, patch in enumerate(result.patches[unit]):
            ax = axes[r, c]
            ax.imshow(as_displayable(patch), cmap=cmap, interpolation="nearest")
            ax.set_title(f"{result.values[unit, c]:.3g}", fontsize=7)
        axes[r, 0].text(-0.1, 0.5, str(unit), transform=axes[r, 0].transAxes, ha="right")
    return fig


def plot_layer_activations(maps: Any, max_maps: int = 32, cmap: str = "viridis") -> Any:
    """One input's feature maps ``(C, H, W)``, the first ``max_maps`` channels."""
    arr = np.asarray(maps)
    if arr.ndim != 3:
        raise ValueError(
            f"expected one input's maps (C, H, W), got shape {arr.shape}; index the row of "
            "LayerActivations.compute(X) to plot."
        )
    shown = arr[:max_maps]
    return plot_images(shown, [str(c) for c in range(len(shown))], cmap=cmap)


def plot_tcav(result: TcavResult, ax: Any = None) -> Any:
    """Mean TCAV score per concept with the spread over random sets, the random null,
    p-values, and hatched bars for concepts that are not significant."""
    own = None
    if ax is None:
        own, axes = _figure(1, 1, cell=3.5)
        ax = axes[0, 0]
    ax.set_axis_on()
    x = np.arange(len(result.concepts))
    std = result.scores.std(axis=1, ddof=1) if result.scores.shape[1] > 1 else None
    bars = ax.bar(x, result.mean, yerr=std, capsize=4, color="tab:blue")
    for bar, significant in zip(bars, result.significant, strict=True):
        if not significant:
            bar.set_hatch("//")
            bar.set_alpha(0.4)
    null = float(result.random_scores.mean())
    ax.axhline(null, color="grey", linestyle="--", label=f"random ({null:.2f})")
    for xi, (p, significant) in enumerate(zip(result.p_values, result.significant, strict=True)):
        label = f"p={p:.2g}" + ("" if significant else "\nnot significant")
        ax.text(xi, 1.02, label, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, result.concepts)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("TCAV score")
    ax.set_title(f"class {result.target} at {result.layer}", fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    return own if own is not None else ax


def plot_feature_map(
    coords: Any,
    thumbnails: Any = None,
    labels: Any = None,
    ax: Any = None,
    zoom: float = 1.5,
) -> Any:
    """A 2-D map (e.g. ``FeatureSpace.embed()``) as points coloured by ``labels``, or as
    ``thumbnails`` (one image per point) drawn at the points."""
    points = np.asarray(coords, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"coords must be (n, 2), got shape {points.shape}.")
    if thumbnails is not None and len(thumbnails) != len(points):
        raise ValueError(f"got {len(thumbnails)} thumbnails for {len(points)} points.")
    own = None
    if ax is None:
        own, axes = _figure(1, 1, cell=5.0)
        ax = axes[0, 0]
    ax.set_axis_on()
    colours = None if labels is None else np.asarray(labels)
    ax.scatter(points[:, 0], points[:, 1], c=colours, s=8, cmap="tab10")
    if thumbnails is not None:
        offsetbox = import_optional("matplotlib.offsetbox")
        for point, image in zip(points, thumbnails, strict=True):
            box = offsetbox.OffsetImage(as_displayable(image), zoom=zoom, cmap="gray")
            ax.add_artist(offsetbox.AnnotationBbox(box, point, frameon=False))
    ax.set_xticks([])
    ax.set_yticks([])
    return own if own is not None else ax
