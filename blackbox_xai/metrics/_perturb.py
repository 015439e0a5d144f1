"""What "player j removed" means for a metric, per data kind, and the scores it reads.

A metric sees the explained rows through a *perturber*: ``outputs(model, Z)`` returns the
model's outputs on every row with only the players of ``Z[i]`` kept, for all rows and all
coalitions in as few model calls as the memory budget allows. Tabular rows use the
:class:`~blackbox_xai.maskers.Tabular` masker (absent features take background values),
documents the :class:`~blackbox_xai.maskers.Text` masker (tokens removed or masked) and
images :class:`ImagePerturbation` (pixels or superpixels set to a fill value or blurred).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..maskers import Tabular, Text
from ..maskers.base import Masker
from ..maskers.image import CHANNELS, Image
from ..models import Model
from ..models.base import rows_per_call
from ..results import Explanation
from ..utils.config import budget_mb, check_budget_mb
from ..utils.optional import import_optional
from ..utils.validation import check_texts

FILLS = ("mean", "blur")


class Perturber(ABC):
    """Rows split into players; ``outputs`` evaluates the model on coalitions of them."""

    #: Players of each row.
    n_players: list[int]

    @abstractmethod
    def outputs(self, model: Model, Z: list[np.ndarray]) -> np.ndarray:
        """Model outputs ``(n, m, k)``; ``Z[i]`` is a bool ``(m, d_i)``, True = kept."""

    @abstractmethod
    def scores(self, values: np.ndarray) -> list[np.ndarray]:
        """One attribution per player and row from the explanation's ``(n, ...)`` values."""


class TabularPerturber(Perturber):
    """Absent features take the background's values (interventional, as in the masker)."""

    def __init__(self, masker: Tabular, X: Any) -> None:
        self.masker = masker
        self.X = masker.validate(X)
        self.n_players = [masker.n_players] * len(self.X)

    def outputs(self, model: Model, Z: list[np.ndarray]) -> np.ndarray:
        self.masker.bind(model)  # a DataFrame background's schema, for the model
        return self.masker.coalition_values(model, self.X, np.stack(Z))

    def scores(self, values: np.ndarray) -> list[np.ndarray]:
        d = self.masker.n_players
        if values.shape[1:] == (d,):
            return list(values)
        if values.shape[1:] == (self.masker.n_features,):
            # attributions per column (gradients): a group's score is its columns' sum
            return list(values @ self.masker.group_matrix.T.astype(np.float64))
        raise ValueError(
            f"the explanation has {values.shape[1:]} features per row, the masker "
            f"{d} players; explain with the same masker (or its columns)."
        )


class TextPerturber(Perturber):
    """Absent tokens are removed or masked, as the :class:`Text` masker does."""

    def __init__(self, masker: Text, X: Any) -> None:
        self.masker = masker
        self.docs = [masker.for_instance(doc) for doc in check_texts(X, name="X")]
        self.n_players = [doc.n_players for doc in self.docs]
        self.budget = min(doc.texts_per_call() for doc in self.docs) if self.docs else 1

    def outputs(self, model: Model, Z: list[np.ndarray]) -> np.ndarray:
        self.masker.bind(model)  # refuses models that take numbers
        m = Z[0].shape[0] if Z else 0
        # Perturbed texts are built a call's worth at a time (a long document's
        # coalitions could hold far more text than the budget), in the same calls.
        parts, batch = [], []
        for doc, z in zip(self.docs, Z, strict=True):
            for start in range(0, len(z), self.budget):
                for text in doc.texts(z[start : start + self.budget]):
                    batch.append(text)
                    if len(batch) == self.budget:
                        parts.append(model(batch))
                        batch = []
        if batch:
            parts.append(model(batch))
        if not parts:
            return np.empty((len(self.docs), m, model.n_outputs or 0))
        return np.concatenate(parts).reshape(len(self.docs), m, -1)

    def scores(self, values: np.ndarray) -> list[np.ndarray]:
        return [values[i, :d] for i, d in enumerate(self.n_players)]


@dataclass
class ImagePerturbation:
    """How pixels or superpixels of images are removed.

    Parameters
    ----------
    segments : int array of shape (n, H, W) or (H, W), optional
        Superpixel labels (e.g. from ``skimage.segmentation.slic``); each label is one
        player. None: every pixel (all its channels) is a player.
    fill : float, array, "mean" or "blur"
        What a removed pixel becomes: a number, an array broadcastable to one image,
        each image's per-channel mean, or the image blurred by a Gaussian of ``sigma``
        pixels (``scipy.ndimage.gaussian_filter``, as Petsiuk et al.'s insertion game).
    sigma : float
        Width of the blur.
    channel_axis : int or "auto", optional
        Axis of the channels in one image (``0`` for ``(C, H, W)``, ``-1`` for
        ``(H, W, C)``); None for 2-D images. "auto" (default) reads 3-D images as the
        :class:`~blackbox_xai.maskers.Image` masker does: channels last when the last
        axis has 1, 3 or 4 entries, else channels first when the first has.
    memory_budget_mb : float, optional
        Largest batch of perturbed images built at once (in whole runs of a model that
        pads its runs, an ONNX model's ``fixed_batch``, and never less than one run,
        which the model holds anyway); None: the ``"model_input"`` share of the
        package's budget (see :func:`blackbox_xai.set_config`).
    """

    segments: Any = None
    fill: Any = 0.0
    sigma: float = 5.0
    channel_axis: int | str | None = "auto"
    memory_budget_mb: float | None = None


def _channel_axis(axis: Any, shape: tuple[int, ...]) -> int:
    """The channel axis (0 or 2) of images ``(n, a, b, c)``; ``axis`` as given or "auto"."""
    if isinstance(axis, str):
        if axis != "auto":
            raise ValueError(f'channel_axis must be an int, None or "auto", got {axis!r}.')
        if shape[-1] in CHANNELS:
            return 2
        if shape[1] in CHANNELS:
            return 0
        raise ValueError(
            f"images of shape {shape} have no channel axis of 1, 3 or 4 entries first or "
            "last; pass channel_axis."
        )
    return (axis or 0) % 3


class ImagePerturber(Perturber):
    """Pixels or superpixels of each image set to the fill (every call batches images)."""

    def __init__(self, spec: ImagePerturbation, X: Any) -> None:
        X = np.asarray(X)
        if X.ndim not in (3, 4):
            raise ValueError(
                f"images must have shape (n, H, W) or (n, C, H, W) / (n, H, W, C); got {X.shape}."
            )
        if isinstance(spec.fill, str) and spec.fill not in FILLS:
            raise ValueError(
                f"fill must be a number, an array or one of {FILLS}, got {spec.fill!r}."
            )
        if spec.memory_budget_mb is not None:
            check_budget_mb(spec.memory_budget_mb)
        if not spec.sigma > 0:
            raise ValueError(f"sigma must be positive, got {spec.sigma}.")
        self.spec = spec
        self.X = X
        self.channel_axis = None if X.ndim == 3 else _channel_axis(spec.channel_axis, X.shape)
        spatial = (
            X.shape[1:] if self.channel_axis is None else _drop(X.shape[1:], self.channel_axis)
        )
        if spec.segments is None:
            labels = np.broadcast_to(
                np.arange(spatial[0] * spatial[1]).reshape(spatial), (len(X), *spatial)
            )
        else:
            labels = np.asarray(spec.segments)
            if labels.ndim == 2:
                labels = np.broadcast_to(labels, (len(X), *labels.shape))
            if labels.shape != (len(X), *spatial) or labels.dtype.kind not in "iu":
                raise ValueError(
                    f"segments must be integer labels of shape {(len(X), *spatial)} or "
                    f"{spatial}; got {labels.dtype} {labels.shape}."
                )
        # labels 0..d_i-1 per image, in the order of the original labels
        self.labels = np.empty(labels.shape, dtype=np.int64)
        self.n_players = []
        for i, lab in enumerate(labels):
            _, inverse = np.unique(lab, return_inverse=True)
            self.labels[i] = inverse.reshape(lab.shape)
            self.n_players.append(int(inverse.max()) + 1)
        self.fills = self._fills()

    def _fills(self) -> np.ndarray:
        X = self.X.astype(np.float64)
        fill = self.spec.fill
        if isinstance(fill, str) and fill == "mean":
            channel = None if self.channel_axis is None else 1 + self.channel_axis
            axes = tuple(a for a in range(1, X.ndim) if a != channel)
            return np.broadcast_to(X.mean(axis=axes, keepdims=True), X.shape).copy()
        if isinstance(fill, str):  # blur the spatial axes only
            ndimage = import_optional("scipy.ndimage")
            sigma = [0.0] + [float(self.spec.sigma)] * (X.ndim - 1)
            if self.channel_axis is not None:
                sigma[1 + self.channel_axis] = 0.0
            return ndimage.gaussian_filter(X, sigma=sigma, mode="nearest")
        return np.broadcast_to(np.asarray(fill, dtype=np.float64), X.shape[1:])[None].repeat(
            len(X), 0
        )

    def outputs(self, model: Model, Z: list[np.ndarray]) -> np.ndarray:
        n = len(self.X)
        m = Z[0].shape[0] if Z else 0
        per_image = max(1, self.X[0].size * 8 * 2)
        budget = budget_mb("model_input", self.spec.memory_budget_mb)
        pairs = n * m
        out: np.ndarray | None = None
        dtype = self.X.dtype if self.X.dtype.kind == "f" else np.float64
        step = rows_per_call(  # whole model runs per call (see Model.rows_per_run)
            model, self.X[:1].astype(dtype, copy=False), int(budget * 2**20) // per_image
        )
        # coalitions padded to the most players (labels never point at the padding)
        padded = np.zeros((n, m, max(self.n_players, default=0)), dtype=bool)
        for i, z in enumerate(Z):
            padded[i, :, : z.shape[1]] = z
        flat_labels = self.labels.reshape(n, -1)
        for start in range(0, pairs, step):
            rows, coals = np.divmod(np.arange(start, min(pairs, start + step)), m)
            keep = np.take_along_axis(padded[rows, coals], flat_labels[rows], axis=1)
            keep = keep.reshape(len(rows), *self.labels.shape[1:])
            if self.channel_axis is not None:
                keep = np.expand_dims(keep, 1 + self.channel_axis)
            images = np.where(keep, self.X[rows], self.fills[rows]).astype(dtype, copy=False)
            pred = model(images)
            if out is None:
                out = np.empty((pairs, pred.shape[1]))
            out[start : start + len(rows)] = pred
        if out is None:
            return np.empty((n, m, model.n_outputs or 0))
        return out.reshape(n, m, -1)

    def scores(self, values: np.ndarray) -> list[np.ndarray]:
        v = np.asarray(values, dtype=np.float64)
        if v.shape[1:] == self.X.shape[1:] and self.channel_axis is not None:
            v = v.sum(axis=1 + self.channel_axis)  # a pixel's score: its channels' sum
        elif v.ndim == 4 and v.shape[1] == 1 and v.shape[2:] == self.labels.shape[1:]:
            v = v[:, 0]
        if v.shape[1:] == self.labels.shape[1:]:
            return [
                np.bincount(lab.ravel(), weights=vi.ravel(), minlength=d)
                for lab, vi, d in zip(self.labels, v, self.n_players, strict=True)
            ]
        if v.ndim == 2 and all(v.shape[1] >= d for d in self.n_players):
            return [v[i, :d] for i, d in enumerate(self.n_players)]
        raise ValueError(
            f"attributions of shape {values.shape} match neither the images {self.X.shape} "
            f"nor their players."
        )


class ImageMaskerPerturber(Perturber):
    """Segments of each image removed as an :class:`~blackbox_xai.maskers.Image` masker
    removes them (its segmenter, fill, layout and budget): the game the perturbation
    explainers on that masker explained."""

    def __init__(self, masker: Image, X: Any) -> None:
        self.masker = masker
        self.bound = [masker.for_instance(image) for image in masker.instances(X)]
        self.n_players = [b.n_players for b in self.bound]

    def outputs(self, model: Model, Z: list[np.ndarray]) -> np.ndarray:
        self.masker.bind(model)
        parts = []
        for bound, z in zip(self.bound, Z, strict=True):
            bound.bind(model)
            parts.append(bound.coalition_values(model, bound.rows(), z)[0])
        return np.stack(parts)

    def scores(self, values: np.ndarray) -> list[np.ndarray]:
        v = np.asarray(values, dtype=np.float64)
        first = self.bound[0]
        if v.ndim == 4:  # per pixel and channel, laid out as the images were given
            v = v.sum(axis=1 if first.given == "channels_first" else -1)
        if v.shape[1:] == first.shape:
            return [
                np.bincount(b.segments.ravel(), weights=vi.ravel(), minlength=d)
                for b, vi, d in zip(self.bound, v, self.n_players, strict=True)
            ]
        if v.ndim == 2 and all(v.shape[1] >= d for d in self.n_players):
            return [v[i, :d] for i, d in enumerate(self.n_players)]
        raise ValueError(
            f"attributions of shape {values.shape} match neither the images' pixels "
            f"{first.shape} (with or without channels) nor their segments {self.n_players}."
        )


def _drop(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return tuple(s for a, s in enumerate(shape) if a != axis)


def data_kind(X: Any) -> str:
    """``"text"`` for a document or a list of them, ``"image"`` for 3-D and 4-D arrays,
    else ``"tabular"``."""
    if isinstance(X, str) or (isinstance(X, (list, tuple)) and X and isinstance(X[0], str)):
        return "text"
    return "image" if np.ndim(X) in (3, 4) else "tabular"


def make_perturber(masker: Any, X: Any) -> Perturber:
    """The perturber of ``masker`` for rows ``X``.

    ``masker`` is a :class:`Tabular`, :class:`Text` or :class:`Image` masker (its
    segments and fill), background rows (meaning
    ``Tabular(rows)``), an :class:`ImagePerturbation`, or None for images (pixels to 0)
    and documents (``Text()``).
    """
    if isinstance(masker, ImagePerturbation):
        return ImagePerturber(masker, X)
    if isinstance(masker, Text):
        return TextPerturber(masker, X)
    if isinstance(masker, Tabular):
        return TabularPerturber(masker, X)
    if isinstance(masker, Image):
        return ImageMaskerPerturber(masker, X)
    if isinstance(masker, Masker):
        raise TypeError(
            f"metrics perturb rows with Tabular, Text, Image or ImagePerturbation; got a "
            f"{type(masker).__name__}."
        )
    if masker is None:
        kind = data_kind(X)
        if kind == "text":
            return TextPerturber(Text(), X)
        if kind == "image":
            return ImagePerturber(ImagePerturbation(), X)
        raise ValueError(
            "tabular rows need a background for absent features: pass masker=background rows "
            "(or a bx.Tabular masker)."
        )
    return TabularPerturber(Tabular(masker), X)


def attributions(explanation: Any, output: int | str | None = None) -> tuple[np.ndarray, int]:
    """``(values (n, *feature_shape), output column)`` of an Explanation or an array."""
    if isinstance(explanation, Explanation):
        o = explanation.output_index(output)
        return explanation.values[..., o], o
    values = np.asarray(explanation, dtype=np.float64)
    if values.ndim < 2:
        raise ValueError(
            f"attributions must be an Explanation or an array (n, *features); got {values.shape}."
        )
    return values, 0


def target_columns(explanation: Any, n: int, o: int, target: Any, k: int) -> np.ndarray:
    """The model output scored for each row: ``target`` if given, else the explanation's
    per-row targets (gradient explainers), else its output ``o``."""
    if target is None and isinstance(explanation, Explanation):
        recorded = explanation.meta.get("target")
        if isinstance(recorded, list) and len(recorded) == n:
            target = recorded
        else:
            target = o
    if target is None:
        target = 0
    cols = np.broadcast_to(np.asarray(target), (n,)).astype(np.int64)
    if ((cols < -k) | (cols >= k)).any():
        raise ValueError(f"target {target!r} is out of range for a model with {k} outputs.")
    return cols % k


def score(
    explanation: Any, perturber: Perturber, output: int | str | None
) -> tuple[list[np.ndarray], int]:
    """Attributions per player of every row, and the explanation's output column."""
    values, o = attributions(explanation, output)
    n = len(perturber.n_players)
    if len(values) != n:
        raise ValueError(f"the explanation has {len(values)} rows, X has {n}.")
    return perturber.scores(values), o
