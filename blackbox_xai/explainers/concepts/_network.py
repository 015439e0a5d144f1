"""The network a concept tool looks inside: its gradients and any layer's activations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ...autodiff.layers import GraphIndex, expose_tensor
from ...models.onnx import open_session
from ...utils.config import budget_mb
from ..gradients._model import as_differentiable

#: Most rows per ``session.run`` by default: a hidden layer's activations can be many
#: times the input, which the input's share of the budget does not see.
_MAX_BATCH = 256


class Network:
    """A :class:`~blackbox_xai.DifferentiableOnnxModel` and sessions reading its layers.

    Activations are read by a session whose graph has the layer as an extra output (no
    gradient graph runs when only activations are needed, which is most of TCAV's and
    all of the top-activation passes' work).

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network (see :func:`~blackbox_xai.explainers.gradients._model.as_differentiable`).
    output : str, optional
        The tensor differentiated (e.g. ``"logits"``).
    batch_size : int, optional
        Rows per ``session.run``. None (default): up to 256, fewer when rows are large,
        so that a batch's float64 input stays within the ``"model_input"`` share of the
        memory budget (:func:`blackbox_xai.set_config`).
    """

    def __init__(
        self, model: Any, output: str | None = None, batch_size: int | None = None
    ) -> None:
        if batch_size is not None and (
            not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
        self.model = as_differentiable(model, output)
        if not hasattr(self.model, "model_bytes"):
            raise TypeError(
                "concept tools read the layers of an ONNX graph: pass a "
                "bx.DifferentiableOnnxModel, an .onnx path, bytes or an onnx.ModelProto."
            )
        self.batch_size = None if batch_size is None else int(batch_size)
        self.index = GraphIndex(self.model)
        self._sessions: dict[str, Any] = {}

    def resolve(self, layer: str, min_rank: int = 0) -> str:
        """The tensor name ``layer`` stands for (an error lists candidates otherwise)."""
        return self.index.resolve(layer, min_rank=min_rank).name

    def input_name(self) -> str:
        """The single float input of the model."""
        specs = self.model._input_specs
        if len(specs) != 1:
            raise ValueError(
                f"this tool needs a model with one input, got {[s[0] for s in specs]}."
            )
        return str(specs[0][0])

    def row_shape(self) -> tuple[int, ...] | None:
        """The static shape of one input row, None when an axis is symbolic."""
        shape = self.index.info(self.input_name()).shape
        if shape is None or not all(isinstance(d, int) for d in shape[1:]):
            return None
        return tuple(int(d) for d in shape[1:])  # type: ignore[arg-type]

    def batches(self, X: Any) -> Iterator[np.ndarray]:
        """Rows of ``X`` in batches.

        Arrays, lists and tuples are rows; any other iterable (a generator, a data
        loader) yields batches of rows, read one at a time.
        """
        if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "__array__"):
            yield from self._split(np.asarray(X))
            return
        if not isinstance(X, Iterable):
            raise TypeError(f"expected an array or an iterable of arrays, got {type(X).__name__}.")
        for part in X:
            yield from self._split(np.asarray(part))

    def _split(self, arr: np.ndarray) -> Iterator[np.ndarray]:
        rows = self.batch_size
        if rows is None:
            row_bytes = 8 * max(1, int(np.prod(arr.shape[1:], dtype=np.int64)))
            rows = max(1, min(_MAX_BATCH, int(budget_mb("model_input") * 2**20) // row_bytes))
        for start in range(0, len(arr), rows):
            yield arr[start : start + rows]

    def activations(self, X: Any, layer: str) -> np.ndarray:
        """Float64 values of tensor ``layer`` for every row of ``X``."""
        parts = [self.activations_of_batch(b, layer) for b in self.batches(X)]
        if not parts:
            raise ValueError("no input rows were given.")
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def activations_of_batch(self, batch: np.ndarray, layer: str) -> np.ndarray:
        """Values of ``layer`` for one batch (one ``session.run``)."""
        feeds = self.model._feeds(batch)
        if layer in feeds:
            return np.asarray(feeds[layer], dtype=np.float64)
        if layer not in self._sessions:
            proto = expose_tensor(self.index.proto, layer)
            self._sessions[layer], _ = open_session(
                proto.SerializeToString(), self.model.providers, self.model.intra_op_threads
            )
        (out,) = self._sessions[layer].run([layer], feeds)
        return np.asarray(out, dtype=np.float64)
