"""Maximally activating inputs and patches (Zeiler & Fergus 2014), streamed over a dataset."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...results.concepts import TopActivationsResult
from ._network import Network
from ._receptive_field import receptive_field


class TopActivations:
    """The inputs that most activate each channel or neuron of a layer.

    The dataset is read in batches (an array, or any iterable of arrays, e.g. a
    generator reading files), keeping only each unit's current top ``k``: it need not
    fit in memory. For a convolutional layer ``(n, C, *spatial)`` an input's activation
    of channel ``c`` is its maximum over positions, and the receptive field of that
    position gives the input patch.

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network.
    layer : str
        Tensor or node name (an error lists the candidates when it does not exist).
    k : int
        Inputs kept per unit.
    patches : bool
        Crop each top input to the receptive field of its maximal position
        (convolutional layers only: a ValueError otherwise).
    batch_size : int, optional
        Rows per ONNX Runtime call; None: up to 256, fewer for large rows (the
        "model_input" share of the memory budget).

    Examples
    --------
    >>> top = bx.TopActivations("cnn.onnx", "relu2", k=9).fit(images)  # doctest: +SKIP
    >>> top.patches[5][0]  # the patch that activates channel 5 most  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        layer: str,
        *,
        k: int = 9,
        patches: bool = True,
        batch_size: int | None = None,
    ) -> None:
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}.")
        self.network = Network(model, None, batch_size)
        self.layer = self.network.resolve(layer, min_rank=2)
        self.k, self.patches = int(k), bool(patches)
        shape = self.network.index.info(self.layer).shape
        self._field = None
        if self.patches:
            if shape is not None and len(shape) < 3:
                raise ValueError(
                    f"layer {self.layer!r} has shape {tuple(shape)} without spatial axes, so "
                    "its units have no receptive-field patches; pass patches=False (top "
                    "inputs only) or a convolutional layer."
                )
            n_axes = len(shape) - 2 if shape is not None else None
            if n_axes is not None:
                self._field = receptive_field(self.network.index, self.layer, n_axes)

    def fit(self, data: Any) -> TopActivationsResult:
        """Read ``data`` (an array or an iterable of arrays) and keep each unit's top inputs.

        Ties keep the earlier input. Returns a :class:`TopActivationsResult`.
        """
        values: np.ndarray | None = None
        indices: np.ndarray | None = None
        positions: np.ndarray | None = None
        crops: list[list[np.ndarray]] | None = None
        seen = 0
        extent: tuple[int, ...] = ()
        for batch in self.network.batches(data):
            acts = self.network.activations_of_batch(batch, self.layer)
            if acts.ndim < 3 and self.patches:
                raise ValueError(
                    f"layer {self.layer!r} has shape {acts.shape[1:]} per row, without spatial "
                    "axes for patches; pass patches=False or a convolutional layer."
                )
            n, units = acts.shape[:2]
            flat = acts.reshape(n, units, -1)
            where = flat.argmax(axis=2)  # the first maximum
            best = np.take_along_axis(flat, where[..., None], axis=2)[..., 0].T  # (units, n)
            pos = (
                np.stack(np.unravel_index(where, acts.shape[2:]), axis=-1)
                if acts.ndim > 2
                else None
            )
            rows = np.broadcast_to(np.arange(seen, seen + n), (units, n))
            if values is None:
                cand_v, cand_i = best, rows
                cand_p = None if pos is None else np.swapaxes(pos, 0, 1)
            else:
                cand_v = np.concatenate([values, best], axis=1)
                cand_i = np.concatenate([indices, rows], axis=1)
                cand_p = (
                    None
                    if pos is None
                    else np.concatenate([positions, np.swapaxes(pos, 0, 1)], axis=1)
                )
            # highest first, earlier input first among equal values
            order = np.lexsort((cand_i, -cand_v), axis=1)[:, : self.k]
            keep_v = np.take_along_axis(cand_v, order, axis=1)
            keep_i = np.take_along_axis(cand_i, order, axis=1)
            keep_p = (
                None if cand_p is None else np.take_along_axis(cand_p, order[..., None], axis=1)
            )
            if self.patches and keep_p is not None:
                crops = self._update_crops(crops, batch, seen, keep_i, keep_p, indices)
                extent = tuple(int(d) for d in batch.shape[-keep_p.shape[-1] :])
            values, indices, positions = keep_v, keep_i, keep_p
            seen += n
        if values is None or indices is None:
            raise ValueError("no input rows were given.")
        boxes = None
        meta: dict[str, Any] = {"n_inputs": seen, "k": self.k}
        if self.patches and positions is not None and self._field is not None:
            boxes = self._field.boxes(positions, extent)
            meta.update(receptive_field=list(self._field.size), stride=list(self._field.stride))
        return TopActivationsResult(
            layer=self.layer,
            indices=indices,
            values=values,
            positions=positions,
            boxes=boxes,
            patches=crops,
            meta=meta,
        )

    def _update_crops(
        self,
        crops: list[list[np.ndarray]] | None,
        batch: np.ndarray,
        offset: int,
        keep_i: np.ndarray,
        keep_p: np.ndarray,
        old_indices: np.ndarray | None,
    ) -> list[list[np.ndarray]]:
        """Crops of the kept inputs: old ones reused, new ones cut from this batch."""
        if self._field is None:
            n_axes = keep_p.shape[-1]
            self._field = receptive_field(self.network.index, self.layer, n_axes)
        extent = batch.shape[-keep_p.shape[-1] :]
        boxes = self._field.boxes(keep_p, tuple(extent))
        previous: dict[tuple[int, int], np.ndarray] = {}
        if crops is not None and old_indices is not None:
            for unit, row in enumerate(old_indices):
                for rank, index in enumerate(row):
                    previous[(unit, int(index))] = crops[unit][rank]
        result = []
        for unit, row in enumerate(keep_i):
            unit_crops = []
            for rank, index in enumerate(row):
                index = int(index)
                if (unit, index) in previous:
                    unit_crops.append(previous[(unit, index)])
                    continue
                box = boxes[unit, rank]
                region = (Ellipsis, *(slice(int(a), int(b)) for a, b in box))
                unit_crops.append(np.array(batch[index - offset][region]))
            result.append(unit_crops)
        return result
