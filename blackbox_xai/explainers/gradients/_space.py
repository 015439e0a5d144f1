"""Where gradients are taken: the model input, or the embeddings of token ids.

Float inputs (images, tabular rows) are differentiated directly. Integer token ids have
no gradient, so attributions are taken with respect to the output of the embedding
lookup (the ``Gather`` of a weight by the ids), as captum's layer methods do, and summed
over the embedding dimension to give one value per token. Both spaces offer the same
operations, so every method is written once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autodiff.layers import GraphIndex, describe_candidates


class ArraySpace:
    """Gradients with respect to float model inputs."""

    kind = "input"

    def __init__(self, model: Any, X: np.ndarray) -> None:
        self.model = model
        self.X = X
        self.shape: tuple[int, ...] = tuple(X.shape[1:])

    def values(self, seeds: Any) -> np.ndarray:
        """The explained rows in this space, float64."""
        return np.asarray(self.X, dtype=np.float64)

    def at_inputs(
        self, rows: np.ndarray, seeds: Any, relu_rule: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and gradients at the rows themselves."""
        return self.values(seeds)[rows], self.gradients(rows, None, seeds, relu_rule)

    def gradients(
        self, rows: np.ndarray, points: np.ndarray | None, seeds: Any, relu_rule: str
    ) -> np.ndarray:
        """Gradients at ``points`` (one per entry of ``rows``; the rows when None)."""
        inputs = self.X[rows] if points is None else points
        options = {} if relu_rule == "standard" else {"relu_rule": relu_rule}
        return np.asarray(self.model.gradient(inputs, seeds, **options), dtype=np.float64)

    def outputs(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Model outputs ``(m, k)`` at ``points``."""
        return predict(self.model, points)

    def baseline_of(self, ids: np.ndarray) -> np.ndarray:
        raise TypeError("token baselines apply to token-id models only.")

    @staticmethod
    def features(attributions: np.ndarray) -> np.ndarray:
        return attributions


class EmbeddingSpace:
    """Gradients with respect to an embedding tensor computed from token ids."""

    kind = "embedding"

    def __init__(self, model: Any, X: np.ndarray, layer: str) -> None:
        if not hasattr(model, "layer_gradient") and not hasattr(model, "activations_and_gradients"):
            raise TypeError("token-id models need a model with activations_and_gradients().")
        self.model, self.X, self.layer = model, X, layer
        self._values: np.ndarray | None = None
        self._grads: dict[str, np.ndarray] = {}
        self.shape: tuple[int, ...] = ()

    def values(self, seeds: Any) -> np.ndarray:
        if self._values is None:
            self._values, grads = self.model.activations_and_gradients(
                self.X, seeds, layer=self.layer
            )
            self._values = np.asarray(self._values, dtype=np.float64)
            self._grads["standard"] = np.asarray(grads, dtype=np.float64)
            self.shape = tuple(self._values.shape[1:])
        return self._values

    def at_inputs(
        self, rows: np.ndarray, seeds: Any, relu_rule: str
    ) -> tuple[np.ndarray, np.ndarray]:
        options = {} if relu_rule == "standard" else {"relu_rule": relu_rule}
        values, grads = self.model.activations_and_gradients(
            self.X[rows], seeds, layer=self.layer, **options
        )
        if self._values is None and len(rows) == len(self.X):
            self._values = np.asarray(values, dtype=np.float64)
            self.shape = tuple(self._values.shape[1:])
        return np.asarray(values, dtype=np.float64), np.asarray(grads, dtype=np.float64)

    def gradients(
        self, rows: np.ndarray, points: np.ndarray | None, seeds: Any, relu_rule: str
    ) -> np.ndarray:
        if points is None:
            return self.at_inputs(rows, seeds, relu_rule)[1]
        _, grads = self._layer_gradient(rows, points, seeds, relu_rule)
        return grads

    def outputs(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        outputs, _ = self._layer_gradient(rows, points, np.zeros(len(rows), np.int64), "standard")
        return outputs

    def _layer_gradient(
        self, rows: np.ndarray, points: np.ndarray, seeds: Any, relu_rule: str
    ) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self.model, "layer_gradient"):
            raise TypeError(
                "integrated gradients and SmoothGrad of a token-id model set the embeddings "
                "to other values; this model object has no layer_gradient() to do so."
            )
        options = {} if relu_rule == "standard" else {"relu_rule": relu_rule}
        outputs, grads = self.model.layer_gradient(
            self.X[rows], seeds, self.layer, points, **options
        )
        return np.asarray(outputs, dtype=np.float64), np.asarray(grads, dtype=np.float64)

    def baseline_of(self, ids: np.ndarray) -> np.ndarray:
        """The embeddings of baseline token ids ``(n, T)``."""
        values, _ = self.model.activations_and_gradients(
            ids, np.zeros(len(ids), np.int64), layer=self.layer
        )
        return np.asarray(values, dtype=np.float64)

    @staticmethod
    def features(attributions: np.ndarray) -> np.ndarray:
        """One value per token: the sum over the embedding dimension."""
        return attributions.sum(axis=-1)


Space = ArraySpace | EmbeddingSpace


def predict(model: Any, X: Any) -> np.ndarray:
    """Outputs ``(n, k)`` of a gradient model (``predict`` or a call)."""
    out = model.predict(X) if hasattr(model, "predict") else model(X)
    out = np.asarray(out, dtype=np.float64)
    return out.reshape(len(out), -1)


def find_embedding(graph: GraphIndex, token_input: str) -> str:
    """The output of the embedding lookup of ``token_input``: a ``Gather`` of a weight
    by the ids (through casts and reshapes).

    Raises
    ------
    ValueError
        No such lookup, or several (the message lists them: pass ``embedding=``).
    """
    carriers = {token_input}
    lookups = []
    for node in graph.nodes:
        if node.op_type in ("Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten"):
            if node.input and node.input[0] in carriers:
                carriers.update(o for o in node.output if o)
        elif (
            node.op_type == "Gather"
            and len(node.input) == 2
            and node.input[1] in carriers
            and node.input[0] in graph.weights | graph.constant_names
        ):
            lookups.append(node.output[0])
    if len(lookups) == 1:
        return lookups[0]
    if not lookups:
        raise ValueError(
            f"the model's input {token_input!r} holds token ids, which have no gradient, and "
            "no embedding lookup (a Gather of a weight by the ids) was found to differentiate "
            "instead; pass embedding=<the tensor of token embeddings>; "
            + describe_candidates(graph.layers(min_rank=3), "embedding")
        )
    raise ValueError(
        f"the token ids {token_input!r} feed several embedding lookups {lookups}; pass "
        "embedding= the one to attribute to (e.g. the word embeddings)."
    )
